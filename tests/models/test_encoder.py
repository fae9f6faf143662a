"""Tests of models.encoder: shapes for any band count, widths, stem without stride."""

from __future__ import annotations

import pytest
import torch

from models.config import TrainConfig
from models.encoder import ResNetEncoder, SSLModel, build_model


@pytest.mark.parametrize("bands", [1, 3, 5])
def test_any_band_count(bands):
    model = SSLModel(bands, width=4, layers=[1, 1, 1, 1], proj_hidden=16, proj_dim=8)
    h, z = model(torch.randn(2, bands, 16, 16))
    assert h.shape == (2, 32) and z.shape == (2, 8)


def test_resnet18_layout_gives_512_dims_at_width_64():
    enc = ResNetEncoder(3, width=64)
    assert enc.out_dim == 512
    assert [len(s) for s in enc.stages] == [2, 2, 2, 2]
    n_params = sum(p.numel() for p in enc.parameters())
    assert 11.0e6 < n_params < 11.3e6  # ResNet-18 body (11.17M) without the fc


def test_stem_keeps_resolution_and_no_maxpool():
    enc = ResNetEncoder(2, width=8, layers=[1, 1, 1, 1])
    conv = enc.stem[0]
    assert conv.kernel_size == (3, 3) and conv.stride == (1, 1)
    assert not any(isinstance(m, torch.nn.MaxPool2d) for m in enc.modules())
    assert enc.stem(torch.randn(1, 2, 32, 32)).shape == (1, 8, 32, 32)
    # three stride-2 stages: 32 -> 4 before pooling
    assert enc.stages(enc.stem(torch.randn(1, 2, 32, 32))).shape == (1, 64, 4, 4)


def test_build_model_from_config_and_embedding_dim():
    config = TrainConfig(width=8, layers=[1, 1, 1, 1], bands=["g", "r"], proj_dim=16)
    model = build_model(config)
    h, z = model.eval()(torch.randn(3, 2, 24, 24))
    assert h.shape == (3, config.embedding_dim) == (3, 64)
    assert z.shape == (3, 16)


def test_build_model_needs_bands():
    with pytest.raises(ValueError, match="bands"):
        build_model(TrainConfig())


def test_gradients_reach_the_stem():
    model = SSLModel(3, width=4, layers=[1, 1, 1, 1], proj_hidden=8, proj_dim=4)
    _, z = model(torch.randn(4, 3, 16, 16))
    z.sum().backward()
    assert model.encoder.stem[0].weight.grad.abs().sum() > 0
