"""Catalogue normalisation: ids, names, column aliases, ra/dec checks."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.table import Table

from explorer.errors import IngestError
from explorer.ingest import ingest


def test_string_ids_become_names_and_uppercase_columns_work(
    tmp_path, make_cube, write_cube
):
    n = 4
    table = Table(
        {
            "OBJID": ["J1", "J2", "J3", "J4"],
            "RA": [1.0, 2.0, 3.0, 4.0],
            "DEC": [-1.0, 0.0, 1.0, 2.0],
            "FLAG": [1, 0, 1, 0],
        }
    )
    src = write_cube(tmp_path / "c.fits", make_cube(n), table)
    cat = ingest(src, tmp_path / "s", progress=False).catalog
    assert cat["id"].tolist() == [0, 1, 2, 3]
    assert cat["name"].tolist() == ["J1", "J2", "J3", "J4"]
    assert cat["ra"].tolist() == [1.0, 2.0, 3.0, 4.0]
    assert "FLAG" in cat.columns


def test_missing_id_column_gets_row_numbers(tmp_path, make_cube, write_cube):
    table = Table({"ra": [1.0, 2.0], "dec": [0.0, 0.5]})
    src = write_cube(tmp_path / "c.fits", make_cube(2), table)
    assert ingest(src, tmp_path / "s", progress=False).catalog["id"].tolist() == [0, 1]


def test_duplicate_ids(tmp_path, make_cube, make_table, write_cube):
    src = write_cube(
        tmp_path / "c.fits", make_cube(3), make_table(3, id=np.array([1, 2, 1]))
    )
    with pytest.raises(IngestError, match=r"c\.fits.*duplicate source ids \[1\]"):
        ingest(src, tmp_path / "s", progress=False)


def test_missing_ra_dec(tmp_path, make_cube, write_cube):
    src = write_cube(
        tmp_path / "c.fits", make_cube(2), Table({"id": [1, 2], "ra": [1.0, 2.0]})
    )
    with pytest.raises(IngestError, match=r"c\.fits.*no 'dec' column"):
        ingest(src, tmp_path / "s", progress=False)


def test_ra_out_of_range(tmp_path, make_cube, make_table, write_cube):
    src = write_cube(
        tmp_path / "c.fits", make_cube(2), make_table(2, ra=np.array([1.0, 400.0]))
    )
    with pytest.raises(IngestError, match=r"'ra'.*ids \[11\]"):
        ingest(src, tmp_path / "s", progress=False)
