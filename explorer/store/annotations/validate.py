"""Checks of what a user hands the annotations: cluster names, id selections."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from explorer.errors import DataError

MAX_NAME_LENGTH = 200


def clean_name(name: str) -> str:
    """``name`` without surrounding whitespace.

    Raises
    ------
    DataError
        If it is not a string, empty, or longer than :data:`MAX_NAME_LENGTH`.
    """
    if not isinstance(name, str):
        msg = f"cluster name must be a string, got {type(name).__name__}"
        raise DataError(msg)
    clean = name.strip()
    if not clean:
        raise DataError("cluster name is empty: give the cluster a name")
    if len(clean) > MAX_NAME_LENGTH:
        msg = (
            f"cluster name {clean[:40]!r}... is longer than "
            f"{MAX_NAME_LENGTH} characters"
        )
        raise DataError(msg)
    return clean


def clean_ids(ids: Iterable[int] | np.ndarray, what: str) -> np.ndarray:
    """Unique sorted source ids of a selection, ``(n,)`` int64.

    Parameters
    ----------
    ids : array-like of int
        The selection; integral floats (``3.0``) are accepted.
    what : str
        What the selection is for, for the error message.

    Raises
    ------
    DataError
        If the selection is empty or not integer.
    """
    arr = np.asarray(list(ids) if not isinstance(ids, np.ndarray) else ids)
    arr = np.atleast_1d(arr)
    if arr.size == 0:
        msg = f"{what}: the selection is empty (select at least one source)"
        raise DataError(msg)
    if arr.dtype.kind not in "iu":
        if (
            arr.dtype.kind == "f"
            and np.all(np.isfinite(arr))
            and np.all(arr == np.round(arr))
        ):
            arr = arr.astype(np.int64)
        else:
            msg = f"{what}: source ids must be integers, got dtype {arr.dtype}"
            raise DataError(msg)
    return np.unique(arr.astype(np.int64))
