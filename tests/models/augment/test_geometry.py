"""Tests of models.augment.geometry: shapes, dtypes, determinism, exact symmetries."""

from __future__ import annotations

import math

import pytest
import torch

from models import augment as A


def _batch(n: int = 4, bands: int = 3, size: int = 16, seed: int = 0) -> torch.Tensor:
    return torch.randn(
        n, bands, size, size, generator=torch.Generator().manual_seed(seed)
    )


def _gen(seed: int = 1) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("k", [1, 2, 3])
def test_rotation_by_multiples_of_90_equals_rot90(k):
    x = _batch()
    assert torch.allclose(
        A.rotate(x, 90 * k), torch.rot90(x, k, dims=(-2, -1)), atol=1e-5
    )


def test_rotation_by_arbitrary_angle_turns_a_point():
    x = torch.zeros(1, 1, 33, 33)
    x[0, 0, 16, 26] = 1.0  # 10 px right of the centre
    y = A.rotate(x, 30.0)
    rows, cols = torch.meshgrid(torch.arange(33.0), torch.arange(33.0), indexing="ij")
    w = y[0, 0].clamp_min(0)
    cy, cx = float((w * rows).sum() / w.sum()), float((w * cols).sum() / w.sum())
    # counter-clockwise on screen (row index grows downwards)
    assert cx == pytest.approx(16 + 10 * math.cos(math.radians(30)), abs=0.3)
    assert cy == pytest.approx(16 - 10 * math.sin(math.radians(30)), abs=0.3)


def test_flip_in_affine_is_exact_mirror():
    x = _batch()
    theta = A.affine_theta(torch.ones(4), flip=torch.ones(4, dtype=torch.bool))
    assert torch.allclose(A.warp(x, theta, 16), x.flip(-1), atol=1e-6)


def test_random_flip_and_rot90_are_exact_permutations():
    x = _batch(n=64)
    for fn in (A.random_flip, A.random_rot90):
        y = fn(x, _gen())
        assert y.shape == x.shape and y.dtype == x.dtype
        for i in range(len(x)):
            # every output is one of the 8 dihedral images of its input
            candidates = [torch.rot90(x[i], k, (-2, -1)) for k in range(4)]
            candidates += [c.flip(-1) for c in candidates]
            assert any(torch.equal(y[i], c) for c in candidates)
        assert not torch.equal(y, x)


def test_identity_affine_is_identity():
    x = _batch()
    assert torch.allclose(A.warp(x, A.affine_theta(torch.ones(4)), 16), x, atol=1e-6)


def test_zoom_scale_samples_centre_region():
    x = torch.arange(16.0).repeat(16, 1)[None, None]  # value = column index
    y = A.warp(x, A.affine_theta(torch.tensor([0.5])), 8)
    # the centre half (columns 4..11) resampled onto 8 pixels
    assert torch.allclose(y[0, 0, 0], torch.arange(4.0, 12.0), atol=1e-5)


def test_shift_translates_by_whole_pixels():
    x = _batch(n=1, size=16)
    shift = torch.tensor([[2 * 2 / 16, 0.0]])  # 2 px in normalised units
    y = A.warp(x, A.affine_theta(torch.ones(1), shift=shift), 16)
    assert torch.allclose(y[..., :, :-2], x[..., :, 2:], atol=1e-5)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"rotate": True},
        {"flip": True},
        {"shear": 0.3},
        {"scale": (0.5, 0.9)},
        {"aspect": 0.3},
        {"translate": 0.1},
        {
            "scale": (0.4, 0.8),
            "rotate": True,
            "flip": True,
            "shear": 0.2,
            "translate": 0.1,
        },
    ],
)
def test_random_affine_shapes_dtype_determinism(kwargs):
    x = _batch()
    a = A.random_affine(x, 8, generator=_gen(5), **kwargs)
    b = A.random_affine(x, 8, generator=_gen(5), **kwargs)
    c = A.random_affine(x, 8, generator=_gen(6), **kwargs)
    assert a.shape == (4, 3, 8, 8) and a.dtype == torch.float32
    assert torch.equal(a, b)
    assert not torch.equal(a, c)
    assert torch.isfinite(a).all()


def test_random_affine_keeps_float64():
    x = _batch().double()
    assert A.random_affine(x, 8, rotate=True, generator=_gen()).dtype == torch.float64


def test_random_resized_crop_stays_inside_image():
    theta = A.resized_crop_theta(500, scale=(0.3, 0.9), aspect=0.3, generator=_gen())
    half = torch.stack([theta[:, 0, 0], theta[:, 1, 1]], -1)
    assert (half > 0).all() and (half <= 1).all()
    assert (theta[:, 0, 1] == 0).all() and (theta[:, 1, 0] == 0).all()
    # region edges = shift +- half stay within the image's [-1, 1]
    assert (theta[:, :, 2].abs() + half <= 1 + 1e-6).all()
    side = (half[:, 0] * half[:, 1]).sqrt()
    assert side.min() >= 0.3 * 0.99 and side.max() <= 0.9 * 1.01


def test_random_resized_crop_shapes_and_determinism():
    x = _batch(size=32)
    y = A.random_resized_crop(x, 8, scale=(0.3, 0.7), generator=_gen(3))
    assert y.shape == (4, 3, 8, 8) and y.dtype == torch.float32
    assert torch.equal(
        y, A.random_resized_crop(x, 8, scale=(0.3, 0.7), generator=_gen(3))
    )
    # a whole-image "crop" is the plain resize
    full = A.random_resized_crop(x, 32, scale=(1.0, 1.0), aspect=0.0, generator=_gen())
    assert torch.allclose(full, x, atol=1e-5)
