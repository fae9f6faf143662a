"""Tests of models.augment.photometry: noise, gain, brightness and contrast."""

from __future__ import annotations

import pytest
import torch

from models import augment as A


def _gen(seed: int = 1) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_noise_is_matched_to_unit_sky_sigma():
    x = torch.zeros(2000, 1, 8, 8)
    y = A.random_noise(x, 1.0, _gen())
    per_image = y.flatten(1).std(1)
    # amplitude ~ U(0, 1) x sigma: mean 0.5, never above 1 (+ sampling error)
    assert per_image.mean() == pytest.approx(0.5, abs=0.03)
    assert per_image.max() < 1.3


def test_gain_is_per_band_multiplicative():
    x = torch.ones(100, 3, 4, 4)
    y = A.random_gain(x, 0.1, _gen())
    # constant within a band, different across bands
    assert torch.allclose(y, y[..., :1, :1].expand_as(y))
    assert y[:, 0, 0, 0].std() == pytest.approx(0.1, rel=0.25)
    assert not torch.allclose(y[:, 0], y[:, 1])


def test_brightness_contrast_ranges():
    x = torch.ones(500, 2, 4, 4)
    y = A.random_brightness_contrast(x, 0.2, 0.3, _gen())
    assert y.min() >= 1 - 0.3 - 0.2 - 1e-6 and y.max() <= 1 + 0.3 + 0.2 + 1e-6
    assert torch.allclose(y[:, 0], y[:, 1])  # same for all bands of an image
