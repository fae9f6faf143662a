"""Davies-Bouldin and silhouette as a few matrix products (exact, BLAS-bound).

scikit-learn's definitions, computed with the expansion
``|x - y|^2 = |x|^2 - 2 x.y + |y|^2`` that scikit-learn itself uses for
Euclidean distances, so the distances come from one matrix product and the
per-cluster sums from a product with a one-hot matrix:

* :func:`davies_bouldin_codes`: the spread of each cluster (mean distance of
  its members to the centroid) needs one ``(n, D) @ (D, k)`` product and no
  ``(n, D)`` temporary; on the live panel's selection-vs-rest case
  (20 000 x 128) it is ~20x faster than scikit-learn's loop over clusters.
* :func:`silhouette_codes`: the ``(n, n)`` distances and their ``(n, k)``
  per-cluster sums, where scikit-learn also validates, chunks and reduces
  in Python.

Both take integer codes ``0 .. k-1`` and finite float64 rows (validated by
the caller, :mod:`explorer.analysis.metrics`); both equal scikit-learn to
rounding (tested).
"""

from __future__ import annotations

import numpy as np


def _onehot(codes: np.ndarray, k: int):
    from scipy import sparse

    n = len(codes)
    return sparse.csr_matrix((np.ones(n), (codes, np.arange(n))), shape=(k, n))


def _distances_to(X: np.ndarray, sq: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """``(len(X), len(Y))`` Euclidean distances, ``sq`` the squared norms of X
    (computed in place in the product's buffer: memory, not flops, bounds it)."""
    d = X @ Y.T
    d *= -2.0
    d += sq[:, None]
    d += np.einsum("ij,ij->i", Y, Y)[None, :]
    np.maximum(d, 0.0, out=d)
    return np.sqrt(d, out=d)


def davies_bouldin_codes(X: np.ndarray, codes: np.ndarray) -> float:
    """Davies-Bouldin index of ``(n, D)`` points ``X`` in clusters ``codes``.

    Parameters
    ----------
    X : ndarray
        Finite float64 points.
    codes : ndarray
        ``(n,)`` int cluster codes ``0 .. k-1``, each used, ``k >= 2``.

    Returns
    -------
    float
        ``mean_i max_{j != i} (S_i + S_j) / M_ij`` (0 where centroids coincide,
        as scikit-learn).
    """
    k = int(codes.max()) + 1
    onehot = _onehot(codes, k)
    counts = np.asarray(onehot.sum(axis=1)).ravel()
    centroids = np.asarray(onehot @ X) / counts[:, None]
    sq = np.einsum("ij,ij->i", X, X)
    # each point's distance to its own centroid, without an (n, D) temporary
    own = centroids[codes]
    d2 = sq - 2.0 * np.einsum("ij,ij->i", X, own) + np.einsum("ij,ij->i", own, own)
    spread = np.bincount(codes, weights=np.sqrt(np.maximum(d2, 0.0)), minlength=k)
    spread = spread / counts
    csq = np.einsum("ij,ij->i", centroids, centroids)
    gaps = _distances_to(centroids, csq, centroids)
    if np.allclose(spread, 0) or np.allclose(gaps, 0):
        return 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = (spread[:, None] + spread[None, :]) / gaps
    ratio = np.nan_to_num(ratio, nan=0.0, posinf=0.0)
    np.fill_diagonal(ratio, 0.0)
    return float(np.mean(ratio.max(axis=1)))


def silhouette_codes(X: np.ndarray, codes: np.ndarray) -> float:
    """Mean silhouette coefficient of ``(n, D)`` points in clusters ``codes``.

    Parameters
    ----------
    X : ndarray
        Finite float64 points (n^2 distances are held: keep ``n`` to a few
        thousand).
    codes : ndarray
        ``(n,)`` int codes ``0 .. k-1``, each used, ``2 <= k < n``.

    Returns
    -------
    float
        ``mean_i (b_i - a_i) / max(a_i, b_i)``; a member of a one-point cluster
        scores 0 (scikit-learn's convention).
    """
    k = int(codes.max()) + 1
    sq = np.einsum("ij,ij->i", X, X)
    distances = _distances_to(X, sq, X)
    np.fill_diagonal(distances, 0.0)
    counts = np.bincount(codes, minlength=k).astype(np.float64)
    # (n, k): each point's summed distance to the members of every cluster
    members = np.zeros((len(codes), k))
    members[np.arange(len(codes)), codes] = 1.0
    sums = distances @ members
    rows = np.arange(len(codes))
    own_size = counts[codes]
    with np.errstate(divide="ignore", invalid="ignore"):
        a = sums[rows, codes] / (own_size - 1)
        other = sums / counts[None, :]
    other[rows, codes] = np.inf
    b = other.min(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        s = (b - a) / np.maximum(a, b)
    s = np.where(own_size > 1, np.nan_to_num(s), 0.0)
    return float(np.mean(s))


__all__ = ["davies_bouldin_codes", "silhouette_codes"]
