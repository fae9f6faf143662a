"""Catalogue measurements: aperture photometry, second-moment size, flags."""

from __future__ import annotations

import numpy as np
import pytest

from explorer.ingest.synthetic import (
    DEMO,
    FLAG_BLENDED,
    FLAG_SATURATED,
    SIZE_WEIGHT_SIGMA,
    ZEROPOINT,
    measure,
    optics_for,
)
from explorer.ingest.synthetic.pointlike import star


def test_point_source_photometry_recovers_total_flux(noiseless):
    cv, img, level, optics = noiseless(star, 50, seed=4)
    flux, error = measure.photometry(img, level, optics)
    true = np.stack([f for _, _, f in cv.points]).sum(axis=0)
    np.testing.assert_allclose(flux, true, rtol=0.02)
    # error = sky sigma * sqrt(pixels in the aperture) / aperture correction
    n_pix = (measure._radius_grid(optics) <= measure.APERTURE_RADIUS).sum()
    assert (error >= optics.sky[None, :] * np.sqrt(n_pix)).all()


def test_magnitudes_are_ab_and_floored_at_one_sigma():
    flux = np.array([[1.0, 100.0, -3.0]], np.float32)
    error = np.array([[0.1, 0.1, 0.5]], np.float32)
    mags = measure.magnitudes(flux, error)
    np.testing.assert_allclose(
        mags[0],
        [ZEROPOINT, ZEROPOINT - 5.0, ZEROPOINT + 2.5 * np.log10(2.0)],
        rtol=1e-6,
    )


def test_size_of_a_gaussian_matches_the_weighted_moment():
    optics = optics_for(64, DEMO)
    r = measure._radius_grid(optics)
    for sigma in (0.4, 0.8, 1.6):
        img = np.exp(-0.5 * (r / sigma) ** 2)[None].astype(np.float32)
        # Gaussian times Gaussian weight: sigma_eff^-2 = sigma^-2 + sigma_w^-2
        expected = (sigma**-2 + SIZE_WEIGHT_SIGMA**-2) ** -0.5
        assert measure.size(img, optics)[0] == pytest.approx(expected, rel=0.02)


def test_flags_bits():
    optics = optics_for(32, DEMO)
    saturated = np.zeros((3, 3, 32, 32), bool)
    saturated[0, 1, 16, 16] = True
    saturated[2, 0, 0, 0] = True  # far from the centre: another source's
    nearest = np.array([np.inf, 1.0, 9.0])
    np.testing.assert_array_equal(
        measure.flags(saturated, nearest, optics), [FLAG_SATURATED, FLAG_BLENDED, 0]
    )


def test_survey_flags_follow_the_pixels(survey):
    _, cat = survey
    saturated = (cat["flags"].to_numpy() & FLAG_SATURATED) > 0
    labels = cat["_truth_label"].to_numpy()
    assert saturated[labels == "bleed_trail"].all()
    assert saturated[labels != "bleed_trail"].mean() < 0.005
    blended = (cat["flags"].to_numpy() & FLAG_BLENDED) > 0
    # ~35 % have companions, ~35 % of those overlap and most are detected
    assert 0.03 < blended.mean() < 0.15
