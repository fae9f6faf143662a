"""Optics of the synthetic survey: sky noise, per-source per-band PSF."""

from __future__ import annotations

import numpy as np
import pytest

from explorer.ingest.synthetic import DEMO, PRESETS, optics_for
from explorer.ingest.synthetic.optics import add_noise, moffat_gamma


def test_sky_noise_matches_settings_scaled_to_the_pixel():
    for name, size in (("demo", 32), ("second", 48)):
        optics = optics_for(size, PRESETS[name])
        img = np.zeros((40, 3, size, size), np.float32)
        add_noise(img, optics, np.random.default_rng(0))
        expected = np.asarray(PRESETS[name].sky_sigma) * (16.0 / size) / 0.25
        pixels = img - np.median(img, axis=(2, 3), keepdims=True)
        sigma = 1.4826 * np.median(np.abs(pixels), axis=(0, 2, 3))
        np.testing.assert_allclose(sigma, expected, rtol=0.03)


def test_sky_noise_in_empty_corners_of_the_survey(survey):
    cube, _ = survey
    optics = optics_for(32, DEMO)
    corner = cube[:, :, :3, :3].reshape(len(cube), 3, -1)
    med = np.median(corner, axis=(0, 2))
    sigma = 1.4826 * np.median(np.abs(corner - med[None, :, None]), axis=(0, 2))
    # faint neighbours add a little light and scatter
    np.testing.assert_allclose(sigma, optics.sky, rtol=0.15)
    assert np.all(np.abs(med) < 0.2 * optics.sky)


def test_seeing_varies_per_source_and_band_within_the_preset_range():
    optics = optics_for(64, DEMO)
    level = optics.draw_seeing(np.random.default_rng(1), 2000)
    fwhm = optics.fwhm_arcsec[np.arange(3)[None, :], level]
    lo, hi = DEMO.seeing_r
    step = np.diff(optics.fwhm_arcsec[1]).max()
    assert fwhm[:, 1].min() >= lo - step and fwhm[:, 1].max() <= hi + step
    ratio = fwhm / fwhm[:, 1:2]
    assert np.median(ratio[:, 0]) == pytest.approx(DEMO.seeing_ratio[0], abs=0.03)
    assert np.median(ratio[:, 2]) == pytest.approx(DEMO.seeing_ratio[2], abs=0.03)
    # g and z are their own exposures: their seeing scatters about the mean
    assert ratio[:, 0].std() > 0.03 and ratio[:, 2].std() > 0.03


def test_moffat_fwhm_is_the_configured_one():
    optics = optics_for(64, DEMO)
    fwhm_px = optics.fwhm_arcsec[1, 5] / optics.pix
    gamma = moffat_gamma(fwhm_px, DEMO.moffat_beta)
    # a Moffat profile is at half its peak at r = FWHM / 2
    half = (1 + (fwhm_px / 2) ** 2 / gamma**2) ** -DEMO.moffat_beta
    assert half == pytest.approx(0.5, rel=1e-6)
    assert optics.gamma[1, 5] == pytest.approx(gamma, rel=1e-5)
