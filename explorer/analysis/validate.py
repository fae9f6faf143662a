"""Input validation of the analysis: the one check for non-finite rows.

Every analysis step (index, k-NN graph, map, clusters, metrics, TPCF, pixel
features) refuses NaN/inf rows through :func:`finite_rows`, so the message a
user sees names the offending sources the same way wherever they hit it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from explorer.errors import DataError

#: Rows checked per step: a memory-mapped (N, D) file is never read whole
#: into one boolean temporary.
CHUNK_ROWS = 262_144
#: Ids (or row numbers) named in the error.
NAMED = 5


def finite_rows(
    X: np.ndarray,
    ids: Sequence[int] | np.ndarray | None = None,
    *,
    what: str = "embeddings",
) -> np.ndarray:
    """Return ``X`` as a 2-D array after refusing rows that hold NaN/inf.

    Parameters
    ----------
    X : ndarray
        ``(N, D)`` values (any dtype; may be memory-mapped, it is read in
        chunks of :data:`CHUNK_ROWS` rows and neither copied nor converted).
    ids : array-like, optional
        ``(N,)`` source ids of the rows, to name bad rows by id; without
        them the row numbers are named.
    what : str
        What ``X`` is, for the message (``"embeddings"``, a file path, ...).

    Returns
    -------
    ndarray
        ``np.asarray(X)``, unchanged.

    Raises
    ------
    DataError
        If ``X`` is not 2-D, ``ids`` does not match its rows, or rows hold
        NaN/inf: ``"2 row(s) of embeddings hold NaN/inf: ids [1014, 1063]"``
        (the count, then the first :data:`NAMED` ids or row numbers).
    """
    X = np.asarray(X)
    if X.ndim != 2:
        msg = f"{what} must be 2-D (N, D), got shape {X.shape}"
        raise DataError(msg)
    if ids is not None and len(ids) != len(X):
        msg = f"{len(ids)} ids for {len(X)} rows of {what}"
        raise DataError(msg)
    bad = np.zeros(len(X), dtype=bool)
    for start in range(0, len(X), CHUNK_ROWS):
        chunk = X[start : start + CHUNK_ROWS]
        bad[start : start + len(chunk)] = ~np.isfinite(chunk).all(axis=1)
    if bad.any():
        where = np.flatnonzero(bad)
        label, named = (
            ("rows", where) if ids is None else ("ids", np.asarray(ids)[where])
        )
        msg = (
            f"{len(where)} row(s) of {what} hold NaN/inf: "
            f"{label} {named[:NAMED].tolist()}"
        )
        raise DataError(msg)
    return X
