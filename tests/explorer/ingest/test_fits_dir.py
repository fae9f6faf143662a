"""Ingestion of a directory of per-source FITS files plus a catalogue."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from astropy.io import fits

from explorer.errors import IngestError
from explorer.ingest import ingest


def test_directory_one_hdu_per_band_with_file_column(tmp_path, make_cube):
    cube = make_cube(3, bands=2)
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


def test_directory_of_cubes_matched_by_id_with_catalog_inside(
    tmp_path, make_cube, make_table
):
    cube = make_cube(3, bands=3)
    for i, source_id in enumerate((101, 102, 103)):
        hdu = fits.PrimaryHDU(cube[i])
        hdu.header["BANDS"] = "g,r,z"
        hdu.writeto(tmp_path / f"{source_id}.fits")
    make_table(3, id=np.array([103, 101, 102])).write(tmp_path / "catalog.fits")
    store = ingest(tmp_path, tmp_path.parent / "store_dir", progress=False)
    assert store.bands == ["g", "r", "z"]
    assert store.ids.tolist() == [103, 101, 102]
    np.testing.assert_array_equal(store.cutout(103), cube[2])


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
