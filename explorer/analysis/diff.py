"""Version diff: how much each source's neighbourhood changed between versions.

For two embedding versions of the same store the *neighbourhood change* of a
source is ``1 - J(A, B)``, with ``A`` and ``B`` its ``k`` nearest neighbours
(cosine similarity, the source itself excluded) in the old and new embedding
and ``J`` the Jaccard index ``|A & B| / |A | B|``. 0 means the same
neighbours, 1 means none in common. The per-source values (``(N,)`` float32,
row-aligned with the catalogue) are a colour field for the map; they are
cached in ``versions/<new>/diff-<old>.npy`` (``diff-<old>-k<k>.npy`` for
``k != 10``).

Neighbours come from :func:`explorer.analysis.knn.knn_graph`, the same k-NN
graph as the map and the anomaly scores.
"""

from __future__ import annotations

import dataclasses
import logging

import numpy as np

from explorer.analysis.validate import finite_rows
from explorer.errors import DataError, StoreError
from explorer.store import atomic, layout
from explorer.store.layout import EMBEDDINGS

log = logging.getLogger(__name__)

DEFAULT_K = 10
_CHUNK = 8192


def version_knn(store, version: str, k: int, *, progress: bool = False) -> np.ndarray:
    """``(N, k)`` neighbour rows of every source in ``version`` (itself excluded).

    The graph of :func:`explorer.analysis.knn.knn_graph` (the one the map and
    the anomaly scores use) over the version's unit-normalised embeddings.

    Raises
    ------
    DataError
        If ``k`` is out of range or the embeddings hold NaN rows.
    """
    from explorer.analysis.knn import knn_graph
    from explorer.analysis.neighbors import normalise

    emb = store.embeddings(version)
    n = emb.shape[0]
    if not 1 <= k < n:
        msg = f"k={k} neighbours need 1 <= k < N, and N={n}"
        raise DataError(msg)
    vectors = normalise(finite_rows(emb, store.ids))
    rows, _ = knn_graph(vectors, k, progress=progress)
    return rows


def jaccard_change(old: np.ndarray, new: np.ndarray) -> np.ndarray:
    """``1 - |A & B| / |A | B|`` per row of two neighbour tables.

    Parameters
    ----------
    old, new : ndarray
        ``(N, k)`` integer neighbour rows; entries within a row are distinct.

    Returns
    -------
    ndarray
        ``(N,)`` float32 in ``[0, 1]``.
    """
    if old.shape != new.shape or old.ndim != 2:
        msg = f"neighbour tables differ in shape: {old.shape} vs {new.shape}"
        raise DataError(msg)
    k = old.shape[1]
    out = np.empty(old.shape[0], dtype=np.float32)
    for start in range(0, old.shape[0], _CHUNK):
        a = old[start : start + _CHUNK]
        b = new[start : start + _CHUNK]
        inter = (a[:, :, None] == b[:, None, :]).sum(axis=(1, 2))
        out[start : start + _CHUNK] = 1.0 - inter / (2 * k - inter)
    return out


def cache_name(v_old: str, k: int = DEFAULT_K) -> str:
    """File name of the cached diff inside the new version's directory."""
    return layout.diff_cache(v_old, k, DEFAULT_K)


def neighbourhood_change(
    store, v_old: str, v_new: str, k: int = DEFAULT_K, *, progress: bool = False
) -> np.ndarray:
    """Per-source neighbourhood change between two versions (cached).

    Parameters
    ----------
    store : explorer.store.Store
        The store holding both versions.
    v_old, v_new : str
        Version names; the result is cached with ``v_new``.
    k : int
        Neighbours compared per source.
    progress : bool
        Show progress bars while computing.

    Returns
    -------
    ndarray
        ``(N,)`` float32 in ``[0, 1]``, row-aligned with the catalogue; 0 =
        same neighbours, 1 = none in common.

    Raises
    ------
    StoreError
        If a version is missing or the two have different numbers of rows.
    DataError
        If ``k`` is not in ``[1, N)``.
    """
    emb_old = store.embeddings(v_old)
    emb_new = store.embeddings(v_new)
    if emb_old.shape[0] != emb_new.shape[0]:
        msg = (
            f"versions {v_old!r} ({emb_old.shape[0]} rows) and {v_new!r} "
            f"({emb_new.shape[0]} rows) do not cover the same sources"
        )
        raise StoreError(msg)
    cache = store.version_file(v_new, cache_name(v_old, k))
    sources = [store.version_file(v, EMBEDDINGS) for v in (v_old, v_new)]
    if cache.exists() and all(
        cache.stat().st_mtime >= s.stat().st_mtime for s in sources
    ):
        cached = np.load(cache)
        if cached.shape == (emb_new.shape[0],):
            return cached
    change = jaccard_change(
        version_knn(store, v_old, k, progress=progress),
        version_knn(store, v_new, k, progress=progress),
    )

    def write(tmp) -> None:
        with open(tmp, "wb") as fh:  # np.save(path) would append ".npy"
            np.save(fh, change)

    try:
        atomic.write_with(cache, write)
    except OSError as exc:  # a read-only store still gets its answer
        log.warning("could not cache the version diff in %s: %s", cache, exc)
    return change


@dataclasses.dataclass(frozen=True)
class VersionDiff:
    """Summary of the neighbourhood change between two versions.

    Attributes
    ----------
    old, new : str
        Version names.
    k : int
        Neighbours compared.
    mean_change, median_change : float
        Over all sources, in ``[0, 1]``.
    fraction_changed : float
        Fraction of sources with any neighbour changed.
    most_changed_ids : ndarray
        ``(top,)`` int64 source ids, most changed first.
    most_changed_values : ndarray
        ``(top,)`` float32 their change.
    """

    old: str
    new: str
    k: int
    mean_change: float
    median_change: float
    fraction_changed: float
    most_changed_ids: np.ndarray
    most_changed_values: np.ndarray


def diff_summary(
    store, v_old: str, v_new: str, k: int = DEFAULT_K, top: int = 50
) -> VersionDiff:
    """Summarise :func:`neighbourhood_change` (mean, median, most changed).

    Ties in the change are broken by row order, so the result is stable.
    """
    change = neighbourhood_change(store, v_old, v_new, k)
    order = np.argsort(-change, kind="stable")[: max(int(top), 0)]
    return VersionDiff(
        old=v_old,
        new=v_new,
        k=k,
        mean_change=float(change.mean()),
        median_change=float(np.median(change)),
        fraction_changed=float((change > 0).mean()),
        most_changed_ids=store.ids[order].copy(),
        most_changed_values=change[order].copy(),
    )
