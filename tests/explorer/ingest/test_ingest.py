"""Ingestion of FITS cubes, FITS directories and Galaxy10-style HDF5 files."""

from __future__ import annotations

import hashlib
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
from astropy.io import fits
from astropy.table import Table

from explorer.errors import IngestError, StoreError
from explorer.ingest import fill_nonfinite, ingest
from explorer.store import Store


def _cube(n: int, bands: int = 2, size: int = 8, seed: int = 0) -> np.ndarray:
    return (
        np.random.default_rng(seed)
        .normal(size=(n, bands, size, size))
        .astype(np.float32)
    )


def _table(n: int, **extra) -> Table:
    rng = np.random.default_rng(n)
    cols = {
        "id": np.arange(n) + 10,
        "ra": rng.uniform(10, 20, n),
        "dec": rng.uniform(-5, 5, n),
    }
    cols.update(extra)
    return Table(cols)


def _write_cube(path: Path, cube: np.ndarray, table: Table | None, **header) -> Path:
    primary = fits.PrimaryHDU(cube)
    for key, value in header.items():
        primary.header[key] = value
    hdus = [primary]
    if table is not None:
        hdus.append(fits.BinTableHDU(table, name="CATALOG"))
    fits.HDUList(hdus).writeto(path)
    return path


def _digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


# ------------------------------------------------------------- FITS cube
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


def test_chunk_size_does_not_change_the_store(tmp_path):
    cube = _cube(11)
    src = _write_cube(tmp_path / "c.fits", cube, _table(11), BANDS="g, r")
    a = ingest(src, tmp_path / "a", chunk=3, progress=False)
    b = ingest(src, tmp_path / "b", chunk=100, progress=False)
    np.testing.assert_array_equal(np.asarray(a.cutouts[:]), cube)
    np.testing.assert_array_equal(np.asarray(b.cutouts[:]), cube)
    pd.testing.assert_frame_equal(a.catalog, b.catalog)
    assert a.bands == ["g", "r"]


def test_nonfinite_pixels_are_filled_with_band_median(tmp_path):
    cube = _cube(4, bands=2)
    cube[1, 0, 2, 3] = np.nan
    cube[1, 0, 5, 5] = np.inf
    cube[2, 1] = np.nan  # a whole band without data
    cube[3, 1, 0, 0] = -np.inf
    src = _write_cube(tmp_path / "c.fits", cube, _table(4))
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


def test_float64_beyond_float32_range_is_masked(tmp_path):
    cube = _cube(2, bands=1).astype(np.float64)
    cube[0, 0, 1, 1] = 1e300
    src = _write_cube(tmp_path / "c.fits", cube, _table(2))
    store = ingest(src, tmp_path / "s", progress=False)
    assert store.catalog["n_masked"].tolist() == [1, 0]


def test_single_band_cube_and_band_keywords(tmp_path):
    cube = _cube(5, bands=1)[:, 0]
    src = _write_cube(tmp_path / "c.fits", cube, _table(5), BAND1="i")
    store = ingest(src, tmp_path / "s", progress=False)
    assert store.bands == ["i"]
    np.testing.assert_array_equal(np.asarray(store.cutouts[:, 0]), cube)
    src2 = _write_cube(tmp_path / "d.fits", _cube(3, bands=2), _table(3))
    assert ingest(src2, tmp_path / "s2", progress=False).bands == ["b0", "b1"]


def test_string_ids_become_names_and_uppercase_columns_work(tmp_path):
    n = 4
    table = Table(
        {
            "OBJID": ["J1", "J2", "J3", "J4"],
            "RA": [1.0, 2.0, 3.0, 4.0],
            "DEC": [-1.0, 0.0, 1.0, 2.0],
            "FLAG": [1, 0, 1, 0],
        }
    )
    src = _write_cube(tmp_path / "c.fits", _cube(n), table)
    cat = ingest(src, tmp_path / "s", progress=False).catalog
    assert cat["id"].tolist() == [0, 1, 2, 3]
    assert cat["name"].tolist() == ["J1", "J2", "J3", "J4"]
    assert cat["ra"].tolist() == [1.0, 2.0, 3.0, 4.0]
    assert "FLAG" in cat.columns


def test_missing_id_column_gets_row_numbers(tmp_path):
    table = Table({"ra": [1.0, 2.0], "dec": [0.0, 0.5]})
    src = _write_cube(tmp_path / "c.fits", _cube(2), table)
    assert ingest(src, tmp_path / "s", progress=False).catalog["id"].tolist() == [0, 1]


def test_external_catalog_replaces_table(tmp_path):
    src = _write_cube(tmp_path / "c.fits", _cube(3), None)
    csv = tmp_path / "cat.csv"
    pd.DataFrame({"id": [7, 8, 9], "ra": [1, 2, 3], "dec": [0, 0, 0]}).to_csv(
        csv, index=False
    )
    with pytest.raises(IngestError, match="no catalogue table"):
        ingest(src, tmp_path / "s", progress=False)
    store = ingest(src, tmp_path / "s", catalog=csv, progress=False)
    assert store.ids.tolist() == [7, 8, 9]


# ----------------------------------------------------------- FITS directory
def test_directory_one_hdu_per_band_with_file_column(tmp_path):
    cube = _cube(3, bands=2)
    directory = tmp_path / "cutouts"
    directory.mkdir()
    names = []
    for i in range(3):
        name = f"src_{i}.fits"
        hdus = [fits.PrimaryHDU(cube[i, 0]), fits.ImageHDU(cube[i, 1])]
        hdus[0].header["FILTER"] = "g"
        hdus[1].header["FILTER"] = "r"
        fits.HDUList(hdus).writeto(directory / name)
        names.append(name)
    catalog = tmp_path / "cat.csv"
    pd.DataFrame(
        {"file": names[::-1], "id": [30, 31, 32], "ra": [5, 6, 7], "dec": [1, 2, 3]}
    ).to_csv(catalog, index=False)
    store = ingest(directory, tmp_path / "s", catalog=catalog, progress=False)
    assert store.bands == ["g", "r"]
    np.testing.assert_array_equal(store.cutout(30), cube[2])
    np.testing.assert_array_equal(store.cutout(32), cube[0])


def test_directory_of_cubes_matched_by_id_with_catalog_inside(tmp_path):
    cube = _cube(3, bands=3)
    for i, source_id in enumerate((101, 102, 103)):
        hdu = fits.PrimaryHDU(cube[i])
        hdu.header["BANDS"] = "g,r,z"
        hdu.writeto(tmp_path / f"{source_id}.fits")
    _table(3, id=np.array([103, 101, 102])).write(tmp_path / "catalog.fits")
    store = ingest(tmp_path, tmp_path.parent / "store_dir", progress=False)
    assert store.bands == ["g", "r", "z"]
    assert store.ids.tolist() == [103, 101, 102]
    np.testing.assert_array_equal(store.cutout(103), cube[2])


# ------------------------------------------------------------------- HDF5
def _write_h5(path: Path, n: int = 5, size: int = 8, **datasets) -> np.ndarray:
    images = np.random.default_rng(0).integers(
        0, 256, (n, size, size, 3), dtype=np.uint8
    )
    with h5py.File(path, "w") as h5:
        h5["images"] = images
        h5["ra"] = np.linspace(10, 11, n)
        h5["dec"] = np.linspace(-1, 1, n)
        h5["ans"] = np.arange(n, dtype=np.uint8) % 10
        for name, value in datasets.items():
            if value is None:
                del h5[name]
            else:
                h5[name] = value
    return images


def test_galaxy10_hdf5(tmp_path):
    images = _write_h5(tmp_path / "Galaxy10_DECals.h5")
    store = ingest(
        tmp_path / "Galaxy10_DECals.h5", tmp_path / "s", chunk=2, progress=False
    )
    assert store.bands == ["g", "r", "z"]
    assert store.cutout_size == 8
    expected = images.transpose(0, 3, 1, 2).astype(np.float32) / 255
    np.testing.assert_allclose(np.asarray(store.cutouts[:]), expected, rtol=1e-6)
    assert store.catalog["ans"].tolist() == [0, 1, 2, 3, 4]
    assert store.ids.tolist() == [0, 1, 2, 3, 4]


def test_hdf5_errors(tmp_path):
    _write_h5(tmp_path / "a.h5", ra=None)
    with pytest.raises(IngestError, match=r"a\.h5.*'ra'"):
        ingest(tmp_path / "a.h5", tmp_path / "s", progress=False)
    with h5py.File(tmp_path / "b.h5", "w") as h5:
        h5["pictures"] = np.zeros((2, 8, 8, 3), np.uint8)
    with pytest.raises(IngestError, match=r"b\.h5.*no 'images'"):
        ingest(tmp_path / "b.h5", tmp_path / "s", progress=False)
    (tmp_path / "c.h5").write_bytes(b"not hdf5 at all")
    with pytest.raises(IngestError, match=r"c\.h5.*not a readable HDF5"):
        ingest(tmp_path / "c.h5", tmp_path / "s", progress=False)
    assert not (tmp_path / "s").exists()


# -------------------------------------------------------------- bad input
def test_corrupt_fits(tmp_path):
    bad = tmp_path / "bad.fits"
    bad.write_bytes(b"this is not a FITS file" * 200)
    with pytest.raises(IngestError, match=r"bad\.fits.*not a readable FITS"):
        ingest(bad, tmp_path / "s", progress=False)
    empty = tmp_path / "empty.fits"
    empty.write_bytes(b"")
    with pytest.raises(IngestError, match=r"empty\.fits"):
        ingest(empty, tmp_path / "s", progress=False)


def test_truncated_fits(tmp_path):
    src = _write_cube(tmp_path / "c.fits", _cube(40, size=16), _table(40))
    data = src.read_bytes()
    cut = tmp_path / "cut.fits"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(IngestError, match=r"cut\.fits.*truncated"):
        ingest(cut, tmp_path / "s", progress=False)


@pytest.mark.parametrize("shape", [(8, 8), (2, 2, 2, 8, 8)])
def test_cube_of_wrong_rank(tmp_path, shape):
    src = _write_cube(tmp_path / "c.fits", np.zeros(shape, np.float32), _table(2))
    with pytest.raises(IngestError, match=rf"c\.fits.*rank {len(shape)}"):
        ingest(src, tmp_path / "s", progress=False)


def test_non_square_cutouts(tmp_path):
    src = _write_cube(
        tmp_path / "c.fits", np.zeros((2, 1, 8, 9), np.float32), _table(2)
    )
    with pytest.raises(IngestError, match=r"c\.fits.*8x9.*not square"):
        ingest(src, tmp_path / "s", progress=False)


def test_catalog_row_count_mismatch(tmp_path):
    src = _write_cube(tmp_path / "c.fits", _cube(3), _table(4))
    with pytest.raises(IngestError, match=r"4 rows but .*c\.fits holds 3"):
        ingest(src, tmp_path / "s", progress=False)


def test_duplicate_ids(tmp_path):
    src = _write_cube(tmp_path / "c.fits", _cube(3), _table(3, id=np.array([1, 2, 1])))
    with pytest.raises(IngestError, match=r"c\.fits.*duplicate source ids \[1\]"):
        ingest(src, tmp_path / "s", progress=False)


def test_missing_ra_dec(tmp_path):
    src = _write_cube(
        tmp_path / "c.fits", _cube(2), Table({"id": [1, 2], "ra": [1.0, 2.0]})
    )
    with pytest.raises(IngestError, match=r"c\.fits.*no 'dec' column"):
        ingest(src, tmp_path / "s", progress=False)


def test_ra_out_of_range(tmp_path):
    src = _write_cube(
        tmp_path / "c.fits", _cube(2), _table(2, ra=np.array([1.0, 400.0]))
    )
    with pytest.raises(IngestError, match=r"'ra'.*ids \[11\]"):
        ingest(src, tmp_path / "s", progress=False)


def test_mixed_cutout_sizes_in_directory(tmp_path):
    directory = tmp_path / "d"
    directory.mkdir()
    fits.PrimaryHDU(np.zeros((1, 8, 8), np.float32)).writeto(directory / "1.fits")
    fits.PrimaryHDU(np.zeros((1, 10, 10), np.float32)).writeto(directory / "2.fits")
    pd.DataFrame({"id": [1, 2], "ra": [0, 1], "dec": [0, 1]}).to_csv(
        directory / "catalog.csv", index=False
    )
    with pytest.raises(IngestError, match=r"2\.fits: mixed cutout sizes: 10x10"):
        ingest(directory, tmp_path / "s", progress=False)
    assert not (tmp_path / "s").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["d"]  # no temporaries left


def test_directory_problems(tmp_path):
    directory = tmp_path / "d"
    directory.mkdir()
    with pytest.raises(IngestError, match="needs a catalogue"):
        ingest(directory, tmp_path / "s", progress=False)
    pd.DataFrame({"id": [1], "ra": [0], "dec": [0]}).to_csv(
        directory / "catalog.csv", index=False
    )
    with pytest.raises(IngestError, match=r"no FITS cutouts"):
        ingest(directory, tmp_path / "s", progress=False)
    fits.PrimaryHDU(np.zeros((1, 8, 8), np.float32)).writeto(directory / "2.fits")
    with pytest.raises(IngestError, match=r"no cutout file named 1\.fits"):
        ingest(directory, tmp_path / "s", progress=False)
    fits.PrimaryHDU(np.zeros((1, 8, 8), np.float32)).writeto(directory / "3.fits")
    with pytest.raises(IngestError, match=r"catalog\.csv.*1 rows but .* 2 FITS"):
        ingest(directory, tmp_path / "s", progress=False)


def test_empty_input(tmp_path):
    src = _write_cube(
        tmp_path / "c.fits", np.zeros((0, 2, 8, 8), np.float32), _table(0)
    )
    with pytest.raises(IngestError, match=r"c\.fits.*(no cutouts|no image HDU)"):
        ingest(src, tmp_path / "s", progress=False)


def test_unknown_or_missing_source(tmp_path):
    text = tmp_path / "survey.txt"
    text.write_text("ra,dec\n")
    with pytest.raises(IngestError, match=r"survey\.txt: unknown source type"):
        ingest(text, tmp_path / "s", progress=False)
    with pytest.raises(IngestError, match=r"nope\.fits does not exist"):
        ingest(tmp_path / "nope.fits", tmp_path / "s", progress=False)


def test_store_path_that_is_not_a_store(tmp_path):
    src = _write_cube(tmp_path / "c.fits", _cube(2), _table(2))
    target = tmp_path / "home"
    target.mkdir()
    (target / "thesis.tex").write_text("precious")
    with pytest.raises(StoreError, match=r"home exists and is not a latentsky store"):
        ingest(src, target, overwrite=True, progress=False)
    assert (target / "thesis.tex").read_text() == "precious"


def test_existing_store_needs_overwrite(tmp_path):
    src = _write_cube(tmp_path / "c.fits", _cube(2), _table(2))
    ingest(src, tmp_path / "s", progress=False)
    with pytest.raises(StoreError, match="already exists"):
        ingest(src, tmp_path / "s", progress=False)
    src2 = _write_cube(tmp_path / "d.fits", _cube(5), _table(5))
    assert ingest(src2, tmp_path / "s", overwrite=True, progress=False).n_sources == 5


def test_failed_ingest_leaves_existing_store_unchanged(tmp_path):
    good = _write_cube(tmp_path / "good.fits", _cube(6), _table(6))
    root = tmp_path / "s"
    ingest(good, root, progress=False)
    before = _digest(root)
    # fails late, after the first chunks were written to the temporary store
    directory = tmp_path / "d"
    directory.mkdir()
    for i, size in enumerate((8, 8, 12)):
        fits.PrimaryHDU(np.zeros((2, size, size), np.float32)).writeto(
            directory / f"{i}.fits"
        )
    pd.DataFrame({"id": [0, 1, 2], "ra": [0, 1, 2], "dec": [0, 1, 2]}).to_csv(
        directory / "catalog.csv", index=False
    )
    with pytest.raises(IngestError, match="mixed cutout sizes"):
        ingest(directory, root, overwrite=True, chunk=1, progress=False)
    bad = tmp_path / "bad.fits"
    bad.write_bytes(b"garbage" * 1000)
    with pytest.raises(IngestError):
        ingest(bad, root, overwrite=True, progress=False)
    assert _digest(root) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "bad.fits",
        "d",
        "good.fits",
        "s",
    ]
    assert Store.open(root).n_sources == 6
