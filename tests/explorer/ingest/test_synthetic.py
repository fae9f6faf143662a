"""The synthetic demo survey: shapes, determinism, kinds, noise, photometry."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from astropy.io import fits

from explorer.ingest import synthetic
from explorer.ingest.synthetic import (
    BANDS,
    KIND_FRACTIONS,
    MOFFAT_ALPHA,
    RARE_KINDS,
    SKY_SIGMA,
    ZEROPOINT,
    iter_survey,
    make_cutouts,
    write_demo_survey,
)


@pytest.fixture(scope="module")
def survey() -> tuple[np.ndarray, pd.DataFrame]:
    return make_cutouts(1200, size=32, seed=7)


def test_shapes_dtypes_and_columns(survey):
    cube, cat = survey
    assert cube.shape == (1200, 3, 32, 32)
    assert cube.dtype == np.float32
    assert len(cat) == 1200
    for col in (
        "id",
        "ra",
        "dec",
        "mag_g",
        "mag_r",
        "mag_z",
        "shape_r",
        "_truth_label",
    ):
        assert col in cat.columns
    assert cat["id"].is_unique
    assert cat["id"].dtype == np.int64
    assert np.isfinite(cube).all()
    assert np.isfinite(cat[["ra", "dec", "mag_g", "mag_r", "mag_z"]].to_numpy()).all()


def test_same_seed_same_survey_other_seed_differs():
    a_cube, a_cat = make_cutouts(60, size=16, seed=3)
    b_cube, b_cat = make_cutouts(60, size=16, seed=3)
    c_cube, c_cat = make_cutouts(60, size=16, seed=4)
    np.testing.assert_array_equal(a_cube, b_cube)
    pd.testing.assert_frame_equal(a_cat, b_cat)
    assert not np.allclose(a_cube, c_cube)
    assert not np.allclose(a_cat["ra"], c_cat["ra"])


def test_batching_does_not_change_output():
    whole_cube, whole_cat = make_cutouts(300, size=16, seed=5)
    parts = list(iter_survey(300, size=16, seed=5, batch=70))
    assert [len(p[0]) for p in parts] == [70, 70, 70, 70, 20]
    np.testing.assert_array_equal(np.concatenate([p[0] for p in parts]), whole_cube)
    cat = pd.concat([p[1] for p in parts], ignore_index=True)
    pd.testing.assert_frame_equal(cat, whole_cat)


def test_label_fractions_and_rare_kinds(survey):
    _, cat = survey
    counts = cat["_truth_label"].value_counts()
    assert set(counts.index) == set(KIND_FRACTIONS)
    for kind, frac in KIND_FRACTIONS.items():
        assert abs(counts[kind] - frac * len(cat)) <= 1.5, kind
    assert RARE_KINDS < set(KIND_FRACTIONS)
    for kind in RARE_KINDS:
        assert 1 <= counts[kind] <= 0.01 * len(cat)
    assert sum(KIND_FRACTIONS.values()) == pytest.approx(1.0)


def test_rare_kinds_present_even_in_small_surveys():
    _, cat = make_cutouts(100, size=16, seed=0)
    assert RARE_KINDS <= set(cat["_truth_label"])


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


def _aperture_flux(cube: np.ndarray, radius: float) -> np.ndarray:
    size = cube.shape[-1]
    yy, xx = np.mgrid[:size, :size]
    centre = (size - 1) / 2
    inside = (xx - centre) ** 2 + (yy - centre) ** 2 <= radius**2
    return cube[:, :, inside].sum(axis=-1)


def test_aperture_photometry_of_stars_recovers_catalog_flux(survey):
    cube, cat = survey
    bright = ((cat["_truth_label"] == "star") & (cat["mag_r"] < 19.0)).to_numpy()
    assert bright.sum() >= 20
    radius = 7.0  # px at 0.5"/px; FWHM <= 2.3 px, gamma <= 2.5 px
    # Moffat enclosed fraction 1 - (1 + R^2 / gamma^2)^(1 - beta) >= 0.997 here
    gamma_max = 1.05 * 1.1 / 0.5 / (2 * np.sqrt(2 ** (1 / MOFFAT_ALPHA) - 1))
    enclosed = 1 - (1 + radius**2 / gamma_max**2) ** (1 - MOFFAT_ALPHA)
    assert enclosed > 0.99
    flux = _aperture_flux(cube[bright], radius)[:, 1]
    catalog_flux = 10 ** (-0.4 * (cat.loc[bright, "mag_r"].to_numpy() - ZEROPOINT))
    ratio = flux / catalog_flux
    # background neighbours may add flux to a few apertures: use the median
    assert np.median(ratio) == pytest.approx(enclosed, abs=0.03)


def test_red_point_sources_are_redder_than_stars(survey):
    cube, cat = survey
    flux = _aperture_flux(cube, 4.0)
    g_r = -2.5 * np.log10(np.clip(flux[:, 0], 1e-3, None) / flux[:, 1])
    labels = cat["_truth_label"].to_numpy()
    quasar, star = g_r[labels == "red_quasar"], g_r[labels == "star"]
    assert np.median(quasar) > 1.9
    assert np.median(star) < 1.2
    assert np.median(quasar) > np.percentile(star, 95)


def test_galaxies_are_extended_and_stars_point_like(survey):
    cube, cat = survey
    # concentration: flux within 2 px over flux within 8 px (r band)
    conc = _aperture_flux(cube, 2.0)[:, 1] / _aperture_flux(cube, 8.0)[:, 1]
    labels = cat["_truth_label"].to_numpy()
    bright = cat["mag_r"].to_numpy() < 19.5
    assert (
        np.median(conc[(labels == "star") & bright])
        > np.median(conc[(labels == "disc") & bright]) + 0.15
    )


def test_galaxies_cluster_on_the_sky_and_stars_do_not():
    _, cat = make_cutouts(1500, size=16, seed=11)

    def median_nn(sel: pd.Series) -> float:
        ra = cat.loc[sel, "ra"].to_numpy() * np.cos(np.radians(2.2))
        dec = cat.loc[sel, "dec"].to_numpy()
        d = np.hypot(ra[:, None] - ra[None], dec[:, None] - dec[None])
        np.fill_diagonal(d, np.inf)
        return float(np.median(d.min(axis=1)) * np.sqrt(sel.sum()))

    ellipticals = median_nn(cat["_truth_label"] == "elliptical")
    stars = median_nn(cat["_truth_label"] == "star")
    assert ellipticals < 0.6 * stars


def test_write_demo_survey_roundtrip(tmp_path):
    path = write_demo_survey(tmp_path / "demo.fits", 130, size=16, seed=2)
    cube, cat = make_cutouts(130, size=16, seed=2)
    with fits.open(path) as hdul:
        assert hdul[0].data.shape == (130, 3, 16, 16)
        assert hdul[0].header["BANDS"] == ",".join(BANDS)
        np.testing.assert_array_equal(hdul[0].data, cube)
        table = hdul["CATALOG"].data
        np.testing.assert_array_equal(table["id"], cat["id"])
        assert list(table["_truth_label"]) == list(cat["_truth_label"])
    assert not list(tmp_path.glob(".*"))  # no temporary left behind


def test_invalid_arguments():
    with pytest.raises(ValueError, match="number of sources"):
        make_cutouts(0)
    with pytest.raises(ValueError, match="cutout size"):
        make_cutouts(10, size=8)


def test_generation_is_fast():
    import time

    started = time.perf_counter()
    synthetic.make_cutouts(256, size=64, seed=0)
    # ~25 s for 20 000 on one busy core; a generous bound against regressions
    assert time.perf_counter() - started < 4.0
