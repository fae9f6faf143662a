"""NaN/inf pixels: filled with the band median, counted in ``n_masked``."""

from __future__ import annotations

import numpy as np
import pytest

from explorer.ingest import ingest
from explorer.ingest.nanfill import fill_nonfinite


def test_nonfinite_pixels_are_filled_with_band_median(
    tmp_path, make_cube, make_table, write_cube
):
    cube = make_cube(4, bands=2)
    cube[1, 0, 2, 3] = np.nan
    cube[1, 0, 5, 5] = np.inf
    cube[2, 1] = np.nan  # a whole band without data
    cube[3, 1, 0, 0] = -np.inf
    src = write_cube(tmp_path / "c.fits", cube, make_table(4))
    store = ingest(src, tmp_path / "s", progress=False)
    got = np.asarray(store.cutouts[:])
    assert np.isfinite(got).all()
    finite = cube[1, 0][np.isfinite(cube[1, 0])]
    assert got[1, 0, 2, 3] == pytest.approx(np.median(finite))
    assert got[1, 0, 5, 5] == pytest.approx(np.median(finite))
    np.testing.assert_array_equal(got[2, 1], 0.0)
    np.testing.assert_array_equal(got[2, 0], cube[2, 0])
    assert got[3, 1, 0, 0] == pytest.approx(np.median(cube[3, 1].ravel()[1:]))
    assert store.catalog["n_masked"].tolist() == [0, 2, 64, 1]
    assert "1 sources had" not in store.summary()
    assert "3 sources had NaN/inf" in store.summary()


def test_fill_nonfinite_reference():
    block = np.array([[[[1.0, np.nan], [3.0, 10.0]]]])  # median of 1, 3, 10 is 3
    filled, n_masked = fill_nonfinite(block)
    np.testing.assert_array_equal(filled, [[[[1.0, 3.0], [3.0, 10.0]]]])
    assert filled.dtype == np.float32
    assert n_masked.tolist() == [1]
    assert np.isnan(block[0, 0, 0, 1])  # input untouched


def test_float64_beyond_float32_range_is_masked(
    tmp_path, make_cube, make_table, write_cube
):
    cube = make_cube(2, bands=1).astype(np.float64)
    cube[0, 0, 1, 1] = 1e300
    src = write_cube(tmp_path / "c.fits", cube, make_table(2))
    store = ingest(src, tmp_path / "s", progress=False)
    assert store.catalog["n_masked"].tolist() == [1, 0]
