"""Ingestion of a FITS cube with its catalogue table; bad FITS input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from explorer.errors import IngestError
from explorer.ingest import ingest
from explorer.store import Store


def test_demo_survey_ingests_exactly(small_store, small_survey):
    store = Store.open(small_store)
    cube, cat = small_survey
    assert store.bands == ["g", "r", "z"]
    assert store.cutout_size == 32
    assert store.n_sources == 400
    np.testing.assert_array_equal(np.asarray(store.cutouts[:]), cube)
    np.testing.assert_array_equal(store.ids, cat["id"].to_numpy())
    np.testing.assert_allclose(store.catalog["ra"], cat["ra"])
    assert list(store.catalog["_truth_label"]) == list(cat["_truth_label"])
    assert (store.catalog["n_masked"] == 0).all()
    assert store.manifest["source"].endswith("demo.fits")


def test_chunk_size_does_not_change_the_store(
    tmp_path, make_cube, make_table, write_cube
):
    cube = make_cube(11)
    src = write_cube(tmp_path / "c.fits", cube, make_table(11), BANDS="g, r")
    a = ingest(src, tmp_path / "a", chunk=3, progress=False)
    b = ingest(src, tmp_path / "b", chunk=100, progress=False)
    np.testing.assert_array_equal(np.asarray(a.cutouts[:]), cube)
    np.testing.assert_array_equal(np.asarray(b.cutouts[:]), cube)
    pd.testing.assert_frame_equal(a.catalog, b.catalog)
    assert a.bands == ["g", "r"]


def test_single_band_cube_and_band_keywords(
    tmp_path, make_cube, make_table, write_cube
):
    cube = make_cube(5, bands=1)[:, 0]
    src = write_cube(tmp_path / "c.fits", cube, make_table(5), BAND1="i")
    store = ingest(src, tmp_path / "s", progress=False)
    assert store.bands == ["i"]
    np.testing.assert_array_equal(np.asarray(store.cutouts[:, 0]), cube)
    src2 = write_cube(tmp_path / "d.fits", make_cube(3, bands=2), make_table(3))
    assert ingest(src2, tmp_path / "s2", progress=False).bands == ["b0", "b1"]


def test_external_catalog_replaces_table(tmp_path, make_cube, write_cube):
    src = write_cube(tmp_path / "c.fits", make_cube(3), None)
    csv = tmp_path / "cat.csv"
    pd.DataFrame({"id": [7, 8, 9], "ra": [1, 2, 3], "dec": [0, 0, 0]}).to_csv(
        csv, index=False
    )
    with pytest.raises(IngestError, match="no catalogue table"):
        ingest(src, tmp_path / "s", progress=False)
    store = ingest(src, tmp_path / "s", catalog=csv, progress=False)
    assert store.ids.tolist() == [7, 8, 9]


def test_corrupt_fits(tmp_path):
    bad = tmp_path / "bad.fits"
    bad.write_bytes(b"this is not a FITS file" * 200)
    with pytest.raises(IngestError, match=r"bad\.fits.*not a readable FITS"):
        ingest(bad, tmp_path / "s", progress=False)
    empty = tmp_path / "empty.fits"
    empty.write_bytes(b"")
    with pytest.raises(IngestError, match=r"empty\.fits"):
        ingest(empty, tmp_path / "s", progress=False)


def test_truncated_fits(tmp_path, make_cube, make_table, write_cube):
    src = write_cube(tmp_path / "c.fits", make_cube(40, size=16), make_table(40))
    data = src.read_bytes()
    cut = tmp_path / "cut.fits"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(IngestError, match=r"cut\.fits.*truncated"):
        ingest(cut, tmp_path / "s", progress=False)


@pytest.mark.parametrize("shape", [(8, 8), (2, 2, 2, 8, 8)])
def test_cube_of_wrong_rank(tmp_path, shape, make_table, write_cube):
    src = write_cube(tmp_path / "c.fits", np.zeros(shape, np.float32), make_table(2))
    with pytest.raises(IngestError, match=rf"c\.fits.*rank {len(shape)}"):
        ingest(src, tmp_path / "s", progress=False)


def test_non_square_cutouts(tmp_path, make_table, write_cube):
    src = write_cube(
        tmp_path / "c.fits", np.zeros((2, 1, 8, 9), np.float32), make_table(2)
    )
    with pytest.raises(IngestError, match=r"c\.fits.*8x9.*not square"):
        ingest(src, tmp_path / "s", progress=False)


def test_catalog_row_count_mismatch(tmp_path, make_cube, make_table, write_cube):
    src = write_cube(tmp_path / "c.fits", make_cube(3), make_table(4))
    with pytest.raises(IngestError, match=r"4 rows but .*c\.fits holds 3"):
        ingest(src, tmp_path / "s", progress=False)


def test_empty_input(tmp_path, make_table, write_cube):
    src = write_cube(
        tmp_path / "c.fits", np.zeros((0, 2, 8, 8), np.float32), make_table(0)
    )
    with pytest.raises(IngestError, match=r"c\.fits.*(no cutouts|no image HDU)"):
        ingest(src, tmp_path / "s", progress=False)
