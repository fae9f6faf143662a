"""Trustworthiness of a map on all points, exact and chunked.

scikit-learn's ``sklearn.manifold.trustworthiness`` builds the full
``N x N`` distance and rank matrices (3.2 GB each at 20 000 points), so the
benchmark used to score a 5 000-point sample. The definition only needs,
for each source ``i``, the full-space rank ``r(i, j)`` of its ``k`` nearest
map neighbours ``j``:

    T(k) = 1 - 2 / (n k (2n - 3k - 1)) * sum_i sum_{j in N2_k(i)} max(0, r(i, j) - k)

with ``r(i, j) = 1 + #{l != i : d(i, l) < d(i, j)}``. :func:`trustworthiness`
computes exactly that, one block of rows at a time (``block x N`` distances,
memory ``O(block N)``). A map neighbour that is among the source's ``k``
nearest in the full space contributes 0, so with the pipeline's k-NN graph
(exact below ``GRAPH_EXACT_MAX``) rows whose map neighbours are all graph
neighbours skip the distance row entirely.

Above ``max_rows`` sources the sum runs over a seeded sample of rows (each
row's ranks still against all ``N`` sources, so the estimate is unbiased);
the result says how many rows it used.
"""

from __future__ import annotations

import numpy as np

from explorer.errors import DataError

#: Rows of the full-space distance matrix held at once.
BLOCK = 256


def map_neighbours(xy: np.ndarray, k: int) -> np.ndarray:
    """``(N, k)`` rows of each point's ``k`` nearest map neighbours (self excluded)."""
    from scipy.spatial import cKDTree

    n = len(xy)
    _, rows = cKDTree(xy).query(xy, k + 1)
    own = rows == np.arange(n)[:, None]
    # Drop self; where duplicates hide it, drop the farthest instead.
    own[~own.any(axis=1), -1] = True
    return rows[~own].reshape(n, k)


def trustworthiness(
    X: np.ndarray,
    xy: np.ndarray,
    *,
    k: int = 10,
    knn: np.ndarray | None = None,
    max_rows: int | None = None,
    seed: int = 0,
) -> dict[str, float | int | bool]:
    """Trustworthiness (scikit-learn's definition, Euclidean) of map ``xy``.

    Parameters
    ----------
    X : ndarray
        ``(N, D)`` full-space points (unit vectors: Euclidean ranks = cosine).
    xy : ndarray
        ``(N, 2)`` map.
    k : int
        Neighbourhood size (``k < N / 2``).
    knn : ndarray, optional
        ``(N, >= k)`` exact full-space neighbour rows (self excluded), e.g.
        the pipeline's k-NN graph; map neighbours found there are skipped.
    max_rows : int, optional
        Score a seeded sample of this many rows when ``N`` is larger.
    seed : int
        Seed of that sample.

    Returns
    -------
    dict
        ``trustworthiness``, ``k``, ``rows`` (rows summed), ``n`` and
        ``all_points`` (whether every row was scored).

    Raises
    ------
    DataError
        If the shapes disagree or ``k >= N / 2``.
    """
    X = np.asarray(X, dtype=np.float64)
    xy = np.asarray(xy, dtype=np.float64)
    n = len(X)
    if xy.shape != (n, 2) or X.ndim != 2:
        msg = f"map of shape {xy.shape} does not match {X.shape[0]} points"
        raise DataError(msg)
    if not 1 <= k < n / 2:
        msg = f"trustworthiness needs 1 <= k < n / 2, got k={k} for n={n}"
        raise DataError(msg)
    rows = np.arange(n)
    if max_rows is not None and n > max_rows:
        rows = np.sort(np.random.default_rng(seed).choice(n, max_rows, replace=False))
    neighbours = map_neighbours(xy, k)[rows]
    unknown = np.ones(neighbours.shape, dtype=bool)
    if knn is not None:
        graph = np.asarray(knn)[rows, :k]
        unknown = ~(neighbours[:, :, None] == graph[:, None, :]).any(axis=2)
    todo = np.flatnonzero(unknown.any(axis=1))
    sq_norm = np.einsum("ij,ij->i", X, X)
    total = 0.0
    for start in range(0, len(todo), BLOCK):
        block = todo[start : start + BLOCK]
        src = rows[block]
        dist = sq_norm[src, None] + sq_norm[None, :] - 2.0 * X[src] @ X.T
        dist[np.arange(len(src)), src] = np.inf
        thr = np.take_along_axis(dist, neighbours[block], axis=1)
        rank = 1 + (dist[:, None, :] < thr[:, :, None]).sum(axis=2)
        excess = np.where(unknown[block], rank - k, 0)
        total += float(excess[excess > 0].sum())
    total *= n / len(rows)  # a sample of rows scales to all n
    value = 1.0 - total * 2.0 / (n * k * (2.0 * n - 3.0 * k - 1.0))
    return {
        "trustworthiness": value,
        "k": k,
        "rows": int(len(rows)),
        "n": n,
        "all_points": bool(len(rows) == n),
    }
