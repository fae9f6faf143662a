"""Optics of the synthetic survey: sky noise level, PSF-limited photometry."""

from __future__ import annotations

import numpy as np
import pytest

from explorer.ingest.synthetic import (
    MOFFAT_ALPHA,
    SKY_SIGMA,
    ZEROPOINT,
)


def test_sky_noise_matches_configured_sigma(survey):
    cube, cat = survey
    # the outer 4-px frame of point-source cutouts is nearly empty sky
    point = cube[cat["_truth_label"].isin(["star", "red_quasar"]).to_numpy()]
    frame = np.ones((32, 32), bool)
    frame[4:-4, 4:-4] = False
    pixels = point[:, :, frame]  # (n, bands, m)
    med = np.median(pixels, axis=(0, 2))
    mad_sigma = 1.4826 * np.median(np.abs(pixels - med[None, :, None]), axis=(0, 2))
    np.testing.assert_allclose(mad_sigma, SKY_SIGMA, rtol=0.15)
    assert np.all(np.abs(med) < 0.2 * SKY_SIGMA)


def test_aperture_photometry_of_stars_recovers_catalog_flux(survey, aperture_flux):
    cube, cat = survey
    bright = ((cat["_truth_label"] == "star") & (cat["mag_r"] < 19.0)).to_numpy()
    assert bright.sum() >= 20
    radius = 7.0  # px at 0.5"/px; FWHM <= 2.3 px, gamma <= 2.5 px
    # Moffat enclosed fraction 1 - (1 + R^2 / gamma^2)^(1 - beta) >= 0.997 here
    gamma_max = 1.05 * 1.1 / 0.5 / (2 * np.sqrt(2 ** (1 / MOFFAT_ALPHA) - 1))
    enclosed = 1 - (1 + radius**2 / gamma_max**2) ** (1 - MOFFAT_ALPHA)
    assert enclosed > 0.99
    flux = aperture_flux(cube[bright], radius)[:, 1]
    catalog_flux = 10 ** (-0.4 * (cat.loc[bright, "mag_r"].to_numpy() - ZEROPOINT))
    ratio = flux / catalog_flux
    # background neighbours may add flux to a few apertures: use the median
    assert np.median(ratio) == pytest.approx(enclosed, abs=0.03)
