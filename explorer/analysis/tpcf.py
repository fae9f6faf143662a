"""Two-point-correlation (TPCF) score of a representation (Mohale et al.).

How hard is it to describe a point cloud as one drawn from a single Gaussian?
The embeddings are PCA-reduced to ``n_components`` dimensions (2 by default);
a Gaussian with the data's mean and covariance is the "random" catalogue, and

    xi(r) = f**2 * DD(r) / RR(r) - 1,   f = N_R / N_D,
    sigma_i = (1 + xi_i) / sqrt(DD_i),
    score = sum_i xi_i  +-  sum_i sigma_i,

over linear separation bins. A cluster shows up as a bump of ``xi`` at small
``r`` (an excess of close pairs), so a more structured space scores higher.

This module is the *fast* implementation used by the UI; its pair counts (RR
analytic, DD exact or on an FFT grid) are in :mod:`explorer.analysis.tpcf_pairs`.
The reference (explicit random catalogue, scikit-learn
``KDTree.two_point_correlation`` pair counts, as in the paper's code) is
:func:`explorer.bench.tpcf_reference.tpcf_score_reference`; the two agree
within the reference's bootstrap sigma (``latentsky bench analysis``).

* Selections up to ``exact_max`` points get exact (tree) pair counts, larger
  ones grid counts.
* **Bins** are linear from 0 to ``r_max``; by default ``r_max`` is twice the
  r.m.s. separation of the random pairs, ``2 * sqrt(trace(2 S))``, so bins are
  set by the data's own scale and DD/RR are well populated.
* A bin with ``DD = 0`` gets the one-pair error ``f**2 / RR`` (instead of an
  infinite or undefined sigma); a bin with ``RR = 0`` is left out of the sum.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from explorer.analysis.pca import pca_reduce
from explorer.analysis.tpcf_pairs import (
    pair_counts_grid,
    pair_counts_tree,
    pair_separation_cdf,
)
from explorer.analysis.validate import finite_rows

#: Selections up to this size get exact (tree) pair counts.
EXACT_MAX = 6000


@dataclass(frozen=True)
class TPCFResult:
    """Outcome of a TPCF score.

    Attributes
    ----------
    score : float
        ``sum(xi)`` over the bins; NaN when undefined (see ``reason``).
    sigma : float
        ``sum(sigma_i)``, the paper's uncertainty of ``score``.
    r : ndarray
        ``(n_bins,)`` bin centres in PCA units.
    xi : ndarray
        ``(n_bins,)`` correlation function per bin.
    sigma_r : ndarray
        ``(n_bins,)`` per-bin uncertainty.
    edges : ndarray
        ``(n_bins + 1,)`` bin edges.
    dd : ndarray
        ``(n_bins,)`` ordered data-pair counts.
    rr : ndarray
        ``(n_bins,)`` random-pair counts scaled to the data (``f**2 RR``).
    n : int
        Number of points used.
    n_components : int
        PCA dimensions.
    reason : str
        Empty when the score is defined, else why it is NaN.
    """

    score: float
    sigma: float
    r: np.ndarray = field(repr=False)
    xi: np.ndarray = field(repr=False)
    sigma_r: np.ndarray = field(repr=False)
    edges: np.ndarray = field(repr=False)
    dd: np.ndarray = field(repr=False)
    rr: np.ndarray = field(repr=False)
    n: int = 0
    n_components: int = 2
    reason: str = ""

    @property
    def value(self) -> float:
        """Alias of ``score`` (every metric result has a ``value``)."""
        return self.score


def nan_result(reason: str, n: int = 0, n_components: int = 2) -> TPCFResult:
    """A TPCF result with NaN score and the given reason."""
    empty = np.zeros(0)
    return TPCFResult(
        np.nan,
        np.nan,
        empty,
        empty,
        empty,
        empty,
        empty,
        empty,
        n=n,
        n_components=n_components,
        reason=reason,
    )


def default_edges(
    cov: np.ndarray, n_bins: int, r_max: float | None = None
) -> np.ndarray:
    """Linear bin edges from 0 to ``r_max`` (default ``2 sqrt(trace(2 cov))``)."""
    if r_max is None:
        r_max = 2.0 * float(np.sqrt(2.0 * np.trace(np.atleast_2d(cov))))
    return np.linspace(0.0, r_max, n_bins + 1)


def xi_and_sigma(
    dd: np.ndarray, rr_scaled: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``xi = DD / (f**2 RR)`` - 1 and ``sigma = (1 + xi) / sqrt(DD)`` per bin.

    ``rr_scaled`` is ``RR / f**2`` (random pairs expressed per data pair).
    Bins with ``RR = 0`` give NaN; bins with ``DD = 0`` the one-pair error.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        xi = np.where(rr_scaled > 0, dd / rr_scaled - 1.0, np.nan)
        sigma = np.where(
            dd > 0, (1.0 + xi) / np.sqrt(np.maximum(dd, 1.0)), 1.0 / rr_scaled
        )
    sigma = np.where(rr_scaled > 0, sigma, np.nan)
    return xi, sigma


def degenerate_reason(Y: np.ndarray, min_points: int) -> str:
    """Why a TPCF of the reduced points ``Y`` is undefined ('' when it is fine)."""
    if len(Y) < min_points:
        return f"needs at least {min_points} points, got {len(Y)}"
    if not np.any(np.ptp(Y, axis=0) > 0):
        return "all points are identical (zero covariance)"
    return ""


def tpcf_score(
    X: np.ndarray,
    *,
    n_components: int = 2,
    n_bins: int = 20,
    r_max: float | None = None,
    ids: np.ndarray | None = None,
    min_points: int = 10,
    exact_max: int = EXACT_MAX,
) -> TPCFResult:
    """TPCF score of a point cloud with analytic randoms (fast; see module doc).

    Parameters
    ----------
    X : ndarray
        ``(n, D)`` embeddings of the selection.
    n_components : int
        PCA dimensions before counting pairs (2 as in the paper).
    n_bins : int
        Number of linear separation bins.
    r_max : float, optional
        Largest separation; default ``2 sqrt(trace(2 S))`` of the reduced data.
    ids : ndarray, optional
        Source ids of the rows, only used to name NaN rows in the error.
    min_points : int
        Fewer points give a NaN result with a reason.
    exact_max : int
        Up to this many points pairs are counted exactly with a tree.

    Returns
    -------
    TPCFResult
        NaN ``score`` and a ``reason`` for degenerate input, never an exception.

    Raises
    ------
    DataError
        If ``X`` holds NaN/inf rows (naming them) or is not 2-D.
    """
    X = finite_rows(np.asarray(X, dtype=np.float64), ids)
    if len(X) == 0:
        return nan_result("empty selection", 0, n_components)
    Y = pca_reduce(X, n_components)
    reason = degenerate_reason(Y, min_points)
    if reason:
        return nan_result(reason, len(Y), Y.shape[1])
    cov = np.atleast_2d(np.cov(Y.T))
    edges = default_edges(cov, n_bins, r_max)
    dd = None if len(Y) <= exact_max else pair_counts_grid(Y, edges)
    if dd is None:
        dd = pair_counts_tree(Y, edges)
    n = len(Y)
    rr_scaled = float(n) * n * np.diff(pair_separation_cdf(cov, edges))
    return assemble(dd, rr_scaled, edges, n, Y.shape[1])


def assemble(
    dd: np.ndarray, rr_scaled: np.ndarray, edges: np.ndarray, n: int, n_components: int
) -> TPCFResult:
    """Build a :class:`TPCFResult` from pair counts (shared with the reference)."""
    xi, sigma_r = xi_and_sigma(dd, rr_scaled)
    used = np.isfinite(xi)
    if not used.any():
        return nan_result("no separation bin holds random pairs", n, n_components)
    return TPCFResult(
        score=float(np.sum(xi[used])),
        sigma=float(np.sum(sigma_r[used])),
        r=0.5 * (edges[1:] + edges[:-1]),
        xi=xi,
        sigma_r=sigma_r,
        edges=edges,
        dd=dd,
        rr=rr_scaled,
        n=n,
        n_components=n_components,
    )
