"""Tests of models.augment: shapes, dtypes, determinism and exact symmetries."""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")

from models import augment as A  # noqa: E402
from models.config import TrainConfig  # noqa: E402


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


def test_asinh_stretch_is_linear_near_zero_and_logarithmic_far():
    x = torch.tensor([0.01, 1e4])
    y = A.asinh_stretch(x, softening=3.0)
    assert float(y[0]) == pytest.approx(0.01 / 3, rel=1e-4)
    assert float(y[1]) == pytest.approx(math.log(2 * 1e4 / 3), rel=1e-4)


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


def test_rejects_non_square_or_integer_input():
    with pytest.raises(ValueError, match="shape"):
        A.random_flip(torch.zeros(2, 3, 8, 9))
    with pytest.raises(ValueError, match="float"):
        A.linearise(torch.zeros(2, 3, 8, 8, dtype=torch.int32))
