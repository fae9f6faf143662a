"""Reference TPCF score: explicit Gaussian randoms and KDTree pair counts.

This is the straightforward implementation of Mohale et al.'s score, as in
the paper's code: draw ``n_random`` points from a Gaussian with the reduced
data's mean and covariance, count pairs with scikit-learn's
``KDTree.two_point_correlation`` for data-data and random-random, and form
``xi = f**2 DD / RR - 1`` with ``f = N_R / N_D``. Its cost grows with the
random catalogue; it exists to validate :func:`explorer.analysis.tpcf.tpcf_score`
(tests, ``latentsky bench analysis``), not for the UI.
"""

from __future__ import annotations

import numpy as np

from explorer.analysis import tpcf
from explorer.analysis.pca import pca_reduce
from explorer.analysis.validate import finite_rows


def pair_counts_kdtree(Y: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Ordered pair counts (``i != j``) per bin ``(e_k, e_k+1]`` via sklearn."""
    from sklearn.neighbors import KDTree

    cumulative = KDTree(Y).two_point_correlation(Y, edges).astype(np.float64)
    return np.diff(cumulative)


def tpcf_score_reference(
    X: np.ndarray,
    *,
    n_components: int = 2,
    n_bins: int = 20,
    r_max: float | None = None,
    n_random: int | None = None,
    seed: int = 0,
    min_points: int = 10,
) -> tpcf.TPCFResult:
    """TPCF score with an explicit random catalogue (slow reference).

    Parameters
    ----------
    X : ndarray
        ``(n, D)`` embeddings.
    n_components, n_bins, r_max, min_points
        As in :func:`explorer.analysis.tpcf.tpcf_score` (same bins for the same data).
    n_random : int, optional
        Size of the Gaussian random catalogue (default: as many as the data).
    seed : int
        Seed of the random catalogue.

    Returns
    -------
    TPCFResult
        ``rr`` holds ``RR / f**2`` so it is comparable with the fast result.
    """
    X = finite_rows(np.asarray(X, dtype=np.float64))
    Y = pca_reduce(X, n_components)
    reason = tpcf.degenerate_reason(Y, min_points)
    if reason:
        return tpcf.nan_result(reason, len(Y), Y.shape[1])
    cov = np.atleast_2d(np.cov(Y.T))
    edges = tpcf.default_edges(cov, n_bins, r_max)
    n_data = len(Y)
    n_random = n_random or n_data
    rng = np.random.default_rng(seed)
    randoms = rng.multivariate_normal(Y.mean(axis=0), cov, size=n_random)
    dd = pair_counts_kdtree(Y, edges)
    rr = pair_counts_kdtree(randoms, edges)
    f = n_random / n_data
    return tpcf.assemble(dd, rr / f**2, edges, n_data, Y.shape[1])


def bootstrap_sigma(
    X: np.ndarray, *, n_boot: int = 10, seed: int = 0, **kwargs
) -> tuple[float, np.ndarray]:
    """Standard deviation of the reference score over bootstrap resamples.

    Each resample draws the rows with replacement and a fresh random catalogue.

    Returns
    -------
    (float, ndarray)
        The standard deviation and the ``(n_boot,)`` resampled scores.
    """
    rng = np.random.default_rng(seed)
    scores = np.empty(n_boot)
    for b in range(n_boot):
        rows = rng.integers(0, len(X), len(X))
        scores[b] = tpcf_score_reference(X[rows], seed=seed + 1 + b, **kwargs).score
    return float(np.std(scores, ddof=1)), scores
