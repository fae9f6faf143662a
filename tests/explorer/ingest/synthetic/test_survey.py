"""Survey assembly: shapes, catalogue columns, determinism, batching, presets."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pandas as pd
import pytest

from explorer.ingest.synthetic import PRESETS, iter_survey, make_cutouts

#: What a detection catalogue has, and the hidden label: nothing else.
CATALOG_COLUMNS = [
    "id",
    "ra",
    "dec",
    "flux_g",
    "flux_r",
    "flux_z",
    "mag_g",
    "mag_r",
    "mag_z",
    "size_r",
    "psf_fwhm_r",
    "flags",
    "_truth_label",
]


def test_shapes_dtypes_and_exactly_the_catalogue_columns(survey):
    cube, cat = survey
    assert cube.shape == (1200, 3, 32, 32)
    assert cube.dtype == np.float32
    assert list(cat.columns) == CATALOG_COLUMNS
    assert cat["id"].is_unique and cat["id"].dtype == np.int64
    assert cat["flags"].dtype == np.int32
    assert np.isfinite(cube).all()
    numbers = cat[CATALOG_COLUMNS[1:-1]].to_numpy()
    assert np.isfinite(numbers).all()
    lo, hi = PRESETS["demo"].seeing_r
    assert cat["psf_fwhm_r"].between(lo - 0.05, hi + 0.05).all()


def test_no_catalogue_column_is_a_function_of_the_kind(survey):
    _, cat = survey
    counts = cat["_truth_label"].value_counts().sort_index()
    for column in [c for c in cat.columns if not c.startswith("_")]:
        per_kind = cat.groupby("_truth_label")[column].nunique().sort_index()
        if column == "flags":
            # no flag value belongs to one kind (saturation is a measurement)
            assert cat.loc[cat["flags"] == 0, "_truth_label"].nunique() >= 12
        elif column == "psf_fwhm_r":
            # the seeing is tabulated, but not chosen by kind
            assert (per_kind[counts >= 20] >= 10).all()
        else:
            assert (per_kind > 0.8 * counts).all(), column


def test_same_seed_and_preset_same_survey_others_differ():
    a_cube, a_cat = make_cutouts(60, size=16, seed=3)
    b_cube, b_cat = make_cutouts(60, size=16, seed=3)
    c_cube, c_cat = make_cutouts(60, size=16, seed=4)
    d_cube, d_cat = make_cutouts(60, size=16, seed=3, settings=PRESETS["second"])
    np.testing.assert_array_equal(a_cube, b_cube)
    pd.testing.assert_frame_equal(a_cat, b_cat)
    assert not np.allclose(a_cube, c_cube)
    assert not np.allclose(a_cat["ra"], c_cat["ra"])
    assert not np.allclose(a_cube, d_cube)
    # the second preset sees worse
    assert d_cat["psf_fwhm_r"].median() > a_cat["psf_fwhm_r"].median() + 0.2


def test_batching_does_not_change_output():
    whole_cube, whole_cat = make_cutouts(300, size=16, seed=5)
    parts = list(iter_survey(300, size=16, seed=5, batch=70))
    assert [len(p[0]) for p in parts] == [70, 70, 70, 70, 20]
    np.testing.assert_array_equal(np.concatenate([p[0] for p in parts]), whole_cube)
    cat = pd.concat([p[1] for p in parts], ignore_index=True)
    pd.testing.assert_frame_equal(cat, whole_cat)


def _peak_bytes(n: int) -> int:
    tracemalloc.start()
    for _ in iter_survey(n, size=16, seed=0, batch=64):
        pass
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def test_memory_does_not_grow_with_n():
    _peak_bytes(64)  # warm the PSF cache
    small, large = _peak_bytes(512), _peak_bytes(2048)
    assert large < 1.3 * small


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


def test_invalid_arguments():
    with pytest.raises(ValueError, match="number of sources"):
        make_cutouts(0)
    with pytest.raises(ValueError, match="cutout size"):
        make_cutouts(10, size=8)
