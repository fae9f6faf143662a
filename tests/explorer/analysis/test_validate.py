"""The one NaN/inf-row check: what it refuses and how its message names rows."""

from __future__ import annotations

import numpy as np
import pytest

from explorer.analysis import validate
from explorer.errors import DataError


def test_message_names_count_and_first_ids():
    X = np.zeros((20, 3), dtype=np.float32)
    bad = [2, 4, 6, 8, 10, 12, 14]
    X[bad, 1] = np.nan
    X[4, 0] = np.inf
    ids = np.arange(100, 120)
    with pytest.raises(DataError) as info:
        validate.finite_rows(X, ids)
    assert str(info.value) == (
        "7 row(s) of embeddings hold NaN/inf: ids [102, 104, 106, 108, 110]"
    )


def test_rows_named_without_ids_and_what_in_message():
    X = np.ones((4, 2))
    X[3, 1] = -np.inf
    with pytest.raises(
        DataError, match=r"^1 row\(s\) of cutouts hold NaN/inf: rows \[3\]$"
    ):
        validate.finite_rows(X, what="cutouts")


def test_bad_rows_found_across_chunks(monkeypatch):
    monkeypatch.setattr(validate, "CHUNK_ROWS", 3)
    X = np.zeros((10, 2))
    X[[1, 9]] = np.nan
    with pytest.raises(DataError, match=r"rows \[1, 9\]"):
        validate.finite_rows(X)


def test_shape_and_ids_checked():
    with pytest.raises(DataError, match=r"must be 2-D .*shape \(5,\)"):
        validate.finite_rows(np.zeros(5))
    with pytest.raises(DataError, match="3 ids for 5 rows of embeddings"):
        validate.finite_rows(np.zeros((5, 2)), np.arange(3))


def test_finite_input_returned_unchanged():
    X = np.arange(12, dtype=np.float32).reshape(4, 3)
    out = validate.finite_rows(X, np.arange(4))
    assert out is X
    empty = validate.finite_rows(np.zeros((0, 3)))
    assert empty.shape == (0, 3)
