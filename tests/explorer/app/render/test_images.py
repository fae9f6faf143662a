"""Display stretches against hand-computed values; PNG output and cache."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from explorer.app.render import images
from explorer.app.render.tiles import CutoutImages
from explorer.errors import StoreError


def ramp(n: int = 100) -> np.ndarray:
    return np.arange(n, dtype=np.float64).reshape(10, n // 10)


def test_asinh_band_hand_values():
    # percentiles 0/100 of 0..99 are 0 and 99; 33 -> 1/3 -> asinh(10/3)/asinh(10)
    out = images.asinh_band(ramp(), lo=0, hi=100, softening=10)
    assert out.flat[0] == 0.0
    assert out.flat[33] == pytest.approx(1.918896472098531 / 2.99822295029797)
    assert out.flat[99] == pytest.approx(1.0)
    # with hi=50 the upper half is clipped to 1
    assert images.asinh_band(ramp(), lo=0, hi=50).flat[80] == pytest.approx(1.0)


def test_asinh_band_is_robust_to_one_hot_pixel():
    band = np.arange(1024, dtype=np.float64).reshape(32, 32)
    band[0, 0] = 1e6  # a cosmic ray must not squash the rest to black
    out = images.asinh_band(band, lo=1, hi=99)
    assert out[16, 0] > 0.5


def test_constant_band_is_black():
    assert not images.asinh_band(np.ones((8, 8))).any()
    assert not images.zscale_band(np.ones((8, 8))).any()


def test_zscale_of_a_ramp_spans_the_data():
    # a noiseless ramp's zscale limits are its min and max: 0 and 99
    out = images.zscale_band(ramp())
    assert out.flat[0] == 0.0
    assert out.flat[99] == pytest.approx(1.0)
    assert out.flat[33] == pytest.approx(33 / 99)


def test_rgb_order_maps_z_r_g_to_red_green_blue():
    assert images.rgb_order(["g", "r", "z"]) == [2, 1, 0]
    assert images.rgb_order(["z", "g", "r"]) == [0, 2, 1]
    assert images.rgb_order(["a", "b"]) == [1, 0, 0]
    with pytest.raises(ValueError, match="no bands"):
        images.rgb_order([])


def test_lupton_hand_value_and_colour():
    size = 32
    x = np.linspace(0, 1, size * size).reshape(size, size)
    cube = np.stack([x, x, x])
    # sky median 0.5, scale = 99.5th pct of (x - 0.5) = 0.495; brightest pixel
    # c = 0.5 / 0.495 in every band, I = c, stretch 0.5, Q 8:
    # 255 * 0.1 * asinh(Q c / 0.5) / asinh(0.1 Q) = 121.0
    rgb = images.lupton_rgb(cube, ["g", "r", "z"])
    assert rgb.dtype == np.uint8
    assert rgb[-1, -1].tolist() == [121, 121, 121]
    assert rgb[0, 0].tolist() == [0, 0, 0]  # below the sky
    only_z = np.stack([np.zeros_like(x), np.zeros_like(x), x])
    red = images.lupton_rgb(only_z, ["g", "r", "z"])[-1, -1]
    assert red[0] > 0 and red[1] == 0 and red[2] == 0


@pytest.mark.parametrize("stretch", images.STRETCHES)
def test_render_shapes(stretch):
    cube = np.random.default_rng(0).normal(size=(3, 16, 16)).astype(np.float32)
    rgb = images.render(cube, ["g", "r", "z"], stretch)
    assert rgb.shape == (16, 16, 3) and rgb.dtype == np.uint8


@pytest.mark.parametrize(
    ("stretch", "expected"),
    [
        # ramp 0..99 with the 100% interval: pixel 33 is v = 1/3 before the stretch
        ("linear", 1 / 3),
        ("sqrt", np.sqrt(1 / 3)),
        ("asinh", np.arcsinh(10 / 3) / np.arcsinh(10)),
        ("log", np.log(1000 / 3 + 1) / np.log(1001)),
    ],
)
def test_each_stretch_hand_value(stretch, expected):
    settings = images.DisplaySettings(stretch, "percentile", 100)
    out = images.stretch_band(ramp(), settings)
    assert out.flat[0] == 0.0 and out.flat[99] == pytest.approx(1.0)
    assert out.flat[33] == pytest.approx(expected)


@pytest.mark.parametrize("stretch", ["linear", "sqrt", "asinh", "log"])
@pytest.mark.parametrize("interval", images.INTERVALS)
def test_stretches_match_astropy_on_a_hand_made_array(stretch, interval):
    from astropy import visualization as vis

    rng = np.random.default_rng(3)
    band = rng.normal(10, 2, (24, 24))
    band[5:9, 5:9] += 300  # a bright source over sky
    ours = images.stretch_band(band, images.DisplaySettings(stretch, interval, 98.0))
    limits = (
        vis.ZScaleInterval() if interval == "zscale" else vis.PercentileInterval(98.0)
    )
    vmin, vmax = limits.get_limits(band)
    kind = {
        "linear": vis.LinearStretch(),
        "sqrt": vis.SqrtStretch(),
        "asinh": vis.AsinhStretch(a=0.1),
        "log": vis.LogStretch(a=1000),
    }[stretch]
    theirs = kind(np.clip((band - vmin) / (vmax - vmin), 0, 1))
    np.testing.assert_allclose(ours, theirs, atol=1e-12)


def test_nan_pixels_are_black_and_do_not_blank_the_band():
    band = ramp().astype(np.float64)
    band[0, 1] = np.nan
    out = images.stretch_band(band, images.DisplaySettings("linear", "percentile", 100))
    assert out.flat[1] == 0.0 and out.flat[99] == pytest.approx(1.0)


UGRIZY = ["u", "g", "r", "i", "z", "y"]


def test_six_band_mapping_default_and_chosen():
    cube = np.zeros((6, 10, 10))
    for k in range(6):
        cube[k] = ramp() * (k + 1)
    # default: reddest three, reddest in R -> y, z, i
    assert images.rgb_indices(UGRIZY, None) == [5, 4, 3]
    assert images.rgb_indices(UGRIZY, ("i", "r", "g")) == [3, 2, 1]
    with pytest.raises(ValueError, match="band 'w' for G is not one of"):
        images.rgb_indices(UGRIZY, ("i", "w", "g"))
    # the chosen bands (and only those) reach the channels
    only_u = np.zeros_like(cube)
    only_u[0] = ramp()
    settings = images.DisplaySettings("linear", "percentile", 100, ("u", "z", "y"))
    rgb = images.render(only_u, UGRIZY, settings)
    assert rgb[..., 0].max() == 255 and not rgb[..., 1:].any()
    assert not images.render(only_u, UGRIZY, "linear").any()  # default skips u


def test_same_band_thrice_is_grey_of_that_band():
    cube = np.zeros((3, 10, 10))
    cube[1] = ramp()
    grey = images.render(cube, ["g", "r", "z"], images.DisplaySettings(rgb=("r",) * 3))
    assert (grey[..., 0] == grey[..., 1]).all() and grey.max() == 255
    dark = images.render(cube, ["g", "r", "z"], images.DisplaySettings(rgb=("g",) * 3))
    assert not dark.any()


def test_render_rejects_bad_input():
    cube = np.zeros((3, 8, 8))
    with pytest.raises(ValueError, match="unknown stretch 'gamma'"):
        images.render(cube, ["g", "r", "z"], "gamma")
    with pytest.raises(ValueError, match=r"expected \(2, S, S\)"):
        images.render(cube, ["g", "r"], "asinh")
    with pytest.raises(ValueError, match="unknown interval"):
        images.DisplaySettings(interval="minmax")
    with pytest.raises(ValueError, match="percentile 0 is not in"):
        images.DisplaySettings(percentile=0)
    with pytest.raises(ValueError, match="three band names"):
        images.DisplaySettings(rgb=("g", "r"))


def test_to_png_upscales_with_nearest_pixels():
    rgb = np.zeros((2, 2, 3), dtype=np.uint8)
    rgb[0, 0] = 255
    png = images.to_png(rgb, size=8)
    decoded = np.asarray(Image.open(io.BytesIO(png)))
    assert decoded.shape == (8, 8, 3)
    assert (decoded[:4, :4] == 255).all() and not decoded[4:, 4:].any()


def test_cutout_images_cache(small_store):
    from explorer.store import Store

    store = Store.open(small_store)
    cache = CutoutImages(store, max_items=3)
    first = int(store.ids[0])
    png = cache.png(first, "lupton", 64)
    assert Image.open(io.BytesIO(png)).size == (64, 64)
    assert cache.png(first, "lupton", 64) is png and cache.hits == 1
    assert cache.png(first, "asinh", 64) != png  # stretch is part of the key
    zscale = images.DisplaySettings("linear", "zscale")
    assert cache.png(first, zscale, 64) != cache.png(first, "linear", 64)
    assert cache.png(first, images.DisplaySettings("linear", "zscale"), 64) is (
        cache.png(first, zscale, 64)
    )
    many = cache.many(store.ids[:5], zscale, 32)
    assert len(many) == 5 and len(cache._cache) <= 3
    with pytest.raises(StoreError, match="not in store"):
        cache.png(-12345)


def test_tiles_keep_small_cutouts_at_their_own_resolution(small_store):
    """A tile no larger than the cutout's side is sent as the cutout's pixels
    (the gallery upscales it pixelated); a smaller tile is scaled down."""
    from explorer.store import Store

    store = Store.open(small_store)
    cache = CutoutImages(store)
    side = store.cutout_size
    ids = store.ids[:3]
    native = cache.tiles(ids, "lupton", side + 10)
    assert [Image.open(io.BytesIO(p)).size for p in native] == [(side, side)] * 3
    # the same pixels as the upscaled PNG, before upscaling
    upscaled = np.asarray(
        Image.open(io.BytesIO(cache.png(int(ids[0]), "lupton", side * 2)))
    )
    np.testing.assert_array_equal(
        upscaled[::2, ::2], np.asarray(Image.open(io.BytesIO(native[0])))
    )
    small = cache.tiles(ids, "lupton", side // 2)
    assert Image.open(io.BytesIO(small[0])).size == (side // 2, side // 2)
