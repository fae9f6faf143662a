"""Tests of models.augment.views: the training views and the embed-time input."""

from __future__ import annotations

import torch

from models import augment as A
from models.config import TrainConfig


def _batch(n: int = 4, bands: int = 3, size: int = 16, seed: int = 0) -> torch.Tensor:
    return torch.randn(
        n, bands, size, size, generator=torch.Generator().manual_seed(seed)
    )


def _gen(seed: int = 1) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_two_views_differ_but_are_reproducible():
    config = TrainConfig(bands=["g", "r", "z"], cutout_size=32, crop=16)
    views = A.TwoViews(A.ViewAugment(config))
    x = A.linearise(_batch(size=32))
    v1, v2 = views(x, _gen(9))
    w1, w2 = views(x, _gen(9))
    assert v1.shape == v2.shape == (4, 3, 16, 16)
    assert torch.equal(v1, w1) and torch.equal(v2, w2)
    assert not torch.allclose(v1, v2)


def test_preprocess_is_deterministic_and_rotation_equivariant():
    config = TrainConfig(bands=["g"], cutout_size=32, crop=16, eval_fraction=0.5)
    x = _batch(bands=1, size=32)
    pre = A.Preprocess(config)
    assert pre(x).shape == (4, 1, 16, 16)
    assert torch.equal(pre(x), pre(x))
    rotated = pre(torch.rot90(x, 1, (-2, -1)))
    assert torch.allclose(rotated, torch.rot90(pre(x), 1, (-2, -1)), atol=1e-5)
