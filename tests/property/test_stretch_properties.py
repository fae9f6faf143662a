"""Properties of the display stretches of explorer.app.render.images (hypothesis)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from explorer.app.render.images import STRETCHES, asinh_band, render, zscale_band

FAST = settings(max_examples=40, deadline=None)
#: finite pixel values over many orders of magnitude, including negatives
_BIG = float(np.float32(1e30))
PIXELS = st.floats(-_BIG, _BIG, allow_nan=False, allow_infinity=False, width=32)
SIDES = st.integers(8, 16)


def _bands(draw, n_bands: int, side: int) -> np.ndarray:
    constant = draw(st.booleans())
    if constant:
        value = draw(PIXELS)
        return np.full((n_bands, side, side), value, np.float32)
    return draw(arrays(np.float32, (n_bands, side, side), elements=PIXELS))


@st.composite
def cutouts(draw) -> np.ndarray:
    """``(B, S, S)`` float32 cutouts: random, constant, or spanning 1e30."""
    return _bands(draw, draw(st.integers(1, 4)), draw(SIDES))


@FAST
@given(band=cutouts(), softening=st.floats(0.1, 100))
def test_asinh_band_is_finite_in_unit_range_and_keeps_the_shape(band, softening):
    out = asinh_band(band[0], softening=softening)
    assert out.shape == band[0].shape
    assert np.isfinite(out).all()
    assert out.min() >= 0.0 and out.max() <= 1.0


@FAST
@given(band=cutouts())
def test_zscale_band_is_finite_in_unit_range_and_keeps_the_shape(band):
    out = zscale_band(band[0])
    assert out.shape == band[0].shape
    assert np.isfinite(out).all()
    assert out.min() >= 0.0 and out.max() <= 1.0


@FAST
@given(band=cutouts())
def test_a_constant_band_stretches_to_zeros(band):
    constant = np.full_like(band[0], band[0, 0, 0])
    assert not asinh_band(constant).any()
    assert not zscale_band(constant).any()


@FAST
@given(cutout=cutouts(), stretch=st.sampled_from(STRETCHES))
def test_render_gives_uint8_rgb_of_the_cutout_size(cutout, stretch):
    names = ["g", "r", "z", "i"][: len(cutout)]
    image = render(cutout, names, stretch)
    side = cutout.shape[-1]
    assert image.shape == (side, side, 3)
    assert image.dtype == np.uint8


@pytest.mark.parametrize("value", [0.0, 5.0])
def test_lupton_of_a_constant_cutout_is_black_without_warning(value):
    cutout = np.full((3, 8, 8), value, np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        image = render(cutout, ["g", "r", "z"], "lupton")
    assert not image.any()
