"""Artefact detectors on constructed cutouts where the answer is known."""

from __future__ import annotations

import numpy as np
import pytest

from explorer.analysis import artefacts
from explorer.errors import DataError

S = 32


def _sky(n: int, seed: int = 0) -> np.ndarray:
    """``(n, 3, S, S)`` pure unit-sigma sky with a smooth Gaussian galaxy."""
    rng = np.random.default_rng(seed)
    cube = rng.normal(0, 1, (n, 3, S, S)).astype(np.float32)
    yy, xx = np.mgrid[:S, :S]
    galaxy = 40 * np.exp(-((xx - 15.5) ** 2 + (yy - 15.5) ** 2) / (2 * 3.0**2))
    return cube + galaxy.astype(np.float32)


def _star(cube: np.ndarray, i: int, peak: float = 400.0) -> None:
    """A PSF-shaped (sigma 1.1 px) star in every band of cutout ``i``."""
    yy, xx = np.mgrid[:S, :S]
    psf = np.exp(-((xx - 8.0) ** 2 + (yy - 22.0) ** 2) / (2 * 1.1**2))
    cube[i] += (peak * psf).astype(np.float32)


def test_mosaic_round_trip():
    tiles = np.arange(7 * 5 * 5, dtype=np.float32).reshape(7, 5, 5)
    image, cols = artefacts._mosaic(tiles)
    np.testing.assert_array_equal(artefacts._unmosaic(image, 7, 5, cols), tiles)


def test_sky_normalise_units():
    cube = 3.0 + 0.5 * _sky(2)[:, :, :4, :4].repeat(8, 2).repeat(8, 3)
    z = artefacts.sky_normalise(np.random.default_rng(1).normal(5, 2, (2, 3, S, S)))
    assert abs(float(np.median(z))) < 0.05
    assert 0.9 < float(z.std()) < 1.1
    assert cube.shape == (2, 3, S, S)
    with pytest.raises(DataError, match="NaN"):
        artefacts.sky_normalise(np.full((1, 3, S, S), np.nan))
    with pytest.raises(DataError, match="shape"):
        artefacts.sky_normalise(np.zeros((3, S, S)))


def test_cosmic_ray_in_one_band_flagged_star_core_not():
    cube = _sky(6)
    cube[1, 0, 10, 20] += 60.0  # one-pixel hit in g only
    cube[2, 2, 5:8, 25] += 40.0  # a 3-pixel track in z only
    _star(cube, 3)  # a sharp star in all bands: not a cosmic ray
    flags = artefacts.artefact_flags(cube)
    assert flags["cosmic_ray_flag"].tolist() == [False, True, True, False, False, False]
    assert flags.loc[2, "cosmic_ray_pixels"] >= 2


def test_trail_flagged_galaxy_not():
    cube = _sky(4)
    yy, xx = np.mgrid[:S, :S]
    dist = (xx - 16) * np.sin(0.6) - (yy - 16) * np.cos(0.6) - 5.0
    cube[1, 1] += (12.0 * np.exp(-0.5 * (dist / 0.8) ** 2)).astype(np.float32)
    flags = artefacts.artefact_flags(cube)
    assert flags["trail_flag"].tolist() == [False, True, False, False]
    assert flags.loc[1, "line_length"] > 0.8
    assert flags.loc[0, "line_length"] < artefacts.TRAIL_MIN_LENGTH


def test_bad_column_whole_and_partial():
    cube = _sky(4)
    cube[1, 2, :, 9] = 15.0  # whole hot column
    cube[2, 0, 4:20, 24] = -12.0  # partial dead column
    _star(cube, 3)
    flags = artefacts.artefact_flags(cube)
    assert flags["bad_column_flag"].tolist() == [False, True, True, False]
    assert not flags.loc[1:2, "cosmic_ray_flag"].any()  # the edges are no CRs


def test_saturated_flat_top():
    cube = _sky(3)
    _star(cube, 1, peak=5000.0)
    cube[1] = np.minimum(cube[1], 800.0)  # clipped at full well
    cube[1, :, 10:21, 8] = 800.0  # and bled along its column
    _star(cube, 2, peak=5000.0)  # as bright, not clipped
    flags = artefacts.artefact_flags(cube)
    assert flags["saturated_flag"].tolist() == [False, True, False]
    assert not flags.loc[1, "bad_column_flag"]
    assert flags.loc[1, "artefact_score"] > 0.5 > flags.loc[0, "artefact_score"]


def test_soft_score_half_at_threshold():
    np.testing.assert_allclose(
        artefacts._soft(np.array([0.0, 2.0, 6.0]), 2.0), [0, 0.5, 0.75]
    )
