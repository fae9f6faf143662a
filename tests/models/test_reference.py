"""Tests of models.reference (the benchmark's plain SimCLR) and models.supervised."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from models.config import TrainConfig
from models.losses import nt_xent
from models.reference import network, normalise, train_reference_simclr, views
from models.reference import nt_xent as reference_loss
from models.supervised import train_supervised


def test_reference_loss_equals_ours():
    g = torch.Generator().manual_seed(0)
    z1, z2 = torch.randn(5, 4, generator=g), torch.randn(5, 4, generator=g)
    assert torch.allclose(
        reference_loss(torch.cat([z1, z2]), 0.2), nt_xent(z1, z2, 0.2)
    )


def test_normalise_gives_sky_sigma_units():
    g = torch.Generator().manual_seed(1)
    sky = 5.0 + 2.0 * torch.randn(2, 1, 64, 64, generator=g)
    x = normalise(sky)
    assert abs(float(x.median())) < 0.05 and abs(float(x.std()) - 1) < 0.1


def test_views_and_network_shapes():
    x = torch.randn(6, 3, 48, 48)
    v = views(x, 32, torch.Generator().manual_seed(0))
    encoder, projector = network(3)
    assert v.shape == (6, 3, 32, 32) and encoder(v).shape == (6, 256)
    assert projector(encoder(v)).shape == (6, 128)


def test_reference_trains_and_reports_each_epoch(small_survey):
    cube, _ = small_survey
    seen = []

    def hook(epoch, encode):
        h = encode(cube[:10])
        seen.append((epoch, h.shape, float(np.linalg.norm(h[0]))))
        return {"extra": epoch}

    history = train_reference_simclr(cube, epochs=2, batch_size=128, on_epoch_end=hook)
    assert [e["epoch"] for e in history] == [1, 2] and history[1]["extra"] == 2
    assert seen[0][1] == (10, 256) and seen[0][2] == pytest.approx(1.0, abs=1e-5)


def test_supervised_learns_labels_and_checks_lengths(small_survey):
    cube, catalog = small_survey
    _, codes = np.unique(catalog["_truth_label"].astype(str), return_inverse=True)
    config = TrainConfig(
        bands=["g", "r", "z"],
        cutout_size=32,
        crop=16,
        width=4,
        epochs=3,
        batch_size=64,
        warmup_epochs=0,
    ).for_device("cpu", threads=1)
    history = train_supervised(cube, codes, config)
    assert history[-1]["loss"] < history[0]["loss"]
    with pytest.raises(ValueError, match="labels"):
        train_supervised(cube, codes[:-1], config)
