"""The source catalogue: its contract and the id -> row lookup.

Row ``i`` of ``catalog.parquet``, ``cutouts.zarr``, ``embeddings.npy`` and
``map.parquet`` is the same source, so every table that holds source ids
answers "which rows are these ids?" with :func:`rows_of_ids`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from explorer.errors import DataError, LatentskyError, StoreError

#: How many unknown ids an error message names.
_SHOWN = 5


def rows_of_ids(
    known_ids: np.ndarray,
    ids: Sequence[int] | np.ndarray,
    *,
    what: str,
    sorter: np.ndarray | None = None,
    error: type[LatentskyError] = DataError,
) -> np.ndarray:
    """Row numbers of ``ids`` in ``known_ids``.

    Parameters
    ----------
    known_ids : ndarray
        ``(N,)`` int source ids in row order, sorted or not, unique.
    ids : array-like of int
        ``(n,)`` (or scalar) ids to look up.
    what : str
        What ``known_ids`` belongs to, for the error message: "source id(s)
        [...] not in {what}" (e.g. ``"store /data/s"``, ``"version 'v1'"``).
    sorter : ndarray, optional
        ``np.argsort(known_ids, kind="stable")``; pass a cached one when
        looking up often (sorting 100k ids costs milliseconds).
    error : type, optional
        Exception class to raise (default :class:`DataError`).

    Returns
    -------
    ndarray
        ``(n,)`` int64 rows, in the order of ``ids``.

    Raises
    ------
    DataError
        (or ``error``) naming the first few ids that are not in ``known_ids``.
    """
    known_ids = np.asarray(known_ids)
    ids = np.atleast_1d(np.asarray(ids, dtype=np.int64))
    if ids.size == 0:
        return np.zeros(0, dtype=np.int64)
    if known_ids.size == 0:
        msg = f"source id(s) {ids[:_SHOWN].tolist()} not in {what}"
        raise error(msg)
    if sorter is None:
        sorter = np.argsort(known_ids, kind="stable")
    pos = np.searchsorted(known_ids, ids, sorter=sorter)
    rows = sorter[np.clip(pos, 0, len(known_ids) - 1)]
    found = known_ids[rows] == ids
    if not found.all():
        msg = f"source id(s) {ids[~found][:_SHOWN].tolist()} not in {what}"
        raise error(msg)
    return rows.astype(np.int64, copy=False)


def validate_catalog(catalog: pd.DataFrame, where: str) -> None:
    """Check the catalogue contract: unique int ids, finite ra/dec in range.

    Parameters
    ----------
    catalog : DataFrame
        At least ``id`` (integers), ``ra`` in [0, 360] deg and ``dec`` in
        [-90, 90] deg.
    where : str
        The input being checked (a file name), for the error message.

    Raises
    ------
    StoreError
        Naming ``where``, the column and the offending values.
    """
    for col in ("id", "ra", "dec"):
        if col not in catalog.columns:
            have = list(catalog.columns)
            msg = f"{where}: catalog has no {col!r} column (columns: {have})"
            raise StoreError(msg)
    if not pd.api.types.is_integer_dtype(catalog["id"]):
        msg = f"{where}: column 'id' has dtype {catalog['id'].dtype}, expected integers"
        raise StoreError(msg)
    dup = catalog["id"][catalog["id"].duplicated()]
    if len(dup):
        msg = f"{where}: duplicate source ids {dup.unique()[:_SHOWN].tolist()}"
        raise StoreError(msg)
    for col, lo, hi in (("ra", 0.0, 360.0), ("dec", -90.0, 90.0)):
        values = pd.to_numeric(catalog[col], errors="coerce").to_numpy(dtype=float)
        bad = ~np.isfinite(values) | (values < lo) | (values > hi)
        if bad.any():
            ids = catalog["id"][bad].head(_SHOWN).tolist()
            msg = (
                f"{where}: column {col!r} missing or outside [{lo}, {hi}] for ids {ids}"
            )
            raise StoreError(msg)
