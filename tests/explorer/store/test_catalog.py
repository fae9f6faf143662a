"""explorer.store.catalog: the one id -> row lookup and the catalogue contract."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from explorer.errors import DataError, StoreError
from explorer.store.catalog import rows_of_ids, validate_catalog


def test_rows_of_unsorted_ids_in_query_order():
    known = np.array([40, 10, 30, 20], dtype=np.int64)
    rows = rows_of_ids(known, [20, 40, 10], what="the test table")
    np.testing.assert_array_equal(rows, [3, 0, 1])
    assert rows.dtype == np.int64
    sorter = np.argsort(known, kind="stable")
    np.testing.assert_array_equal(rows_of_ids(known, 30, what="x", sorter=sorter), [2])


def test_missing_ids_are_named_with_the_owner():
    known = np.arange(10, dtype=np.int64)
    message = r"source id\(s\) \[99, -1\] not in version 'v1'"
    with pytest.raises(DataError, match=message):
        rows_of_ids(known, [3, 99, -1], what="version 'v1'")
    with pytest.raises(StoreError, match=r"\[10\]"):
        rows_of_ids(known, [10], what="store s", error=StoreError)


def test_empty_inputs():
    assert rows_of_ids(np.arange(3), [], what="x").shape == (0,)
    with pytest.raises(DataError, match=r"\[1\] not in the index"):
        rows_of_ids(np.zeros(0, np.int64), [1], what="the index")


def _catalog(**columns) -> pd.DataFrame:
    base = {"id": np.arange(3, dtype=np.int64), "ra": [1.0, 2.0, 3.0]}
    base["dec"] = [0.0, 0.0, 0.0]
    base.update(columns)
    return pd.DataFrame(base)


def test_validate_catalog_accepts_the_contract():
    validate_catalog(_catalog(), "ok.fits")


@pytest.mark.parametrize(
    ("frame", "match"),
    [
        (_catalog().drop(columns="dec"), "no 'dec' column"),
        (_catalog(id=[1.0, 2.0, 3.0]), "expected integers"),
        (_catalog(id=[5, 5, 6]), r"duplicate source ids \[5\]"),
        (_catalog(ra=[1.0, 400.0, np.nan]), r"'ra' missing or outside .* ids \[1, 2\]"),
        (_catalog(dec=[0.0, -91.0, 0.0]), r"'dec' .* ids \[1\]"),
    ],
)
def test_validate_catalog_names_the_problem(frame, match):
    with pytest.raises(StoreError, match=f"bad.fits: .*{match}"):
        validate_catalog(frame, "bad.fits")
