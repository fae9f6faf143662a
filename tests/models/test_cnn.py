"""Tests of models.cnn and of the architecture choice in config/encoder."""

from __future__ import annotations

import pytest
import torch

from models.cnn import PlainCNNEncoder
from models.config import TrainConfig
from models.encoder import ResNetEncoder, build_model


def test_plain_cnn_widths_and_no_early_stride():
    enc = PlainCNNEncoder(3, width=8, layers=[1, 2, 1, 1])
    x = torch.randn(2, 3, 32, 32)
    first = enc.features[:3](x)  # conv, BN, ReLU of stage 1
    assert first.shape == (2, 8, 32, 32)  # full resolution: no stride, no pool
    assert enc(x).shape == (2, 64) and enc.out_dim == 64
    convs = [m for m in enc.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [c.out_channels for c in convs] == [8, 16, 16, 32, 64]
    assert all(c.stride == (1, 1) for c in convs)


def test_plain_cnn_refuses_no_bands():
    with pytest.raises(ValueError, match="band"):
        PlainCNNEncoder(0)


def test_auto_follows_the_device():
    config = TrainConfig(bands=["g", "r", "z"])
    cpu, cuda = config.for_device("cpu", threads=3), config.for_device("cuda")
    assert (cpu.arch, cpu.width, cpu.layers, cpu.batch_size, cpu.threads) == (
        "cnn",
        16,
        [3, 3, 3, 3],
        256,
        3,
    )
    assert (cuda.arch, cuda.width, cuda.layers, cuda.batch_size) == (
        "resnet",
        64,
        [2, 2, 2, 2],
        512,
    )
    assert isinstance(build_model(cpu).encoder, PlainCNNEncoder)
    assert isinstance(build_model(cuda).encoder, ResNetEncoder)
    # explicit settings win over the device's
    mine = TrainConfig(arch="resnet", width=16, batch_size=64).for_device("cpu")
    assert (mine.arch, mine.width, mine.layers, mine.batch_size) == (
        "resnet",
        16,
        [2, 2, 2, 2],
        64,
    )
    assert config.embedding_dim == 128 and cuda.embedding_dim == 512


def test_a_config_without_arch_is_an_old_resnet_checkpoint():
    old = TrainConfig(width=16, layers=[1, 1, 1, 1]).to_dict()
    del old["arch"]
    config = TrainConfig.from_dict(old)
    assert config.arch == "resnet" and config.is_resolved


def test_unknown_arch_is_refused():
    with pytest.raises(ValueError, match="arch 'vit'"):
        TrainConfig(arch="vit")
