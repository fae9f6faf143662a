"""Survey assembly: shapes, determinism, batching, sky clustering, arguments."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from explorer.ingest import synthetic
from explorer.ingest.synthetic import (
    iter_survey,
    make_cutouts,
)


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


def test_generation_is_fast():
    import time

    started = time.perf_counter()
    synthetic.make_cutouts(256, size=64, seed=0)
    # ~25 s for 20 000 on one busy core; a generous bound against regressions
    assert time.perf_counter() - started < 4.0
