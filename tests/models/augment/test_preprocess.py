"""Tests of models.augment.preprocess: sky statistics, linearising, stretch."""

from __future__ import annotations

import math

import pytest
import torch

from models import augment as A


def _gen(seed: int = 1) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_sky_stats_recover_level_and_noise():
    gen = _gen(0)
    x = 5.0 + 2.0 * torch.randn(8, 2, 64, 64, generator=gen)
    x[:, :, 24:40, 24:40] += 1000.0  # a bright source away from the border
    level, sigma = A.sky_stats(x)
    assert level.shape == (8, 2, 1, 1)
    assert torch.allclose(level, torch.full_like(level, 5.0), atol=0.2)
    assert torch.allclose(sigma, torch.full_like(sigma, 2.0), rtol=0.1)


def test_linearise_fills_nan_and_scales_to_noise_units():
    x = 3.0 + 0.5 * torch.randn(2, 3, 32, 32, generator=_gen())
    x[0, 1, 10, 10] = float("nan")
    x[1, 2, 5, 5] = float("inf")
    y = A.linearise(x)
    assert torch.isfinite(y).all()
    border = torch.cat([y[..., :4, :].flatten(2), y[..., -4:, :].flatten(2)], -1)
    assert border.median(-1).values.abs().max() < 0.2
    assert torch.allclose(border.std(-1), torch.ones(2, 3), rtol=0.2)


def test_asinh_stretch_is_linear_near_zero_and_logarithmic_far():
    x = torch.tensor([0.01, 1e4])
    y = A.asinh_stretch(x, softening=3.0)
    assert float(y[0]) == pytest.approx(0.01 / 3, rel=1e-4)
    assert float(y[1]) == pytest.approx(math.log(2 * 1e4 / 3), rel=1e-4)
