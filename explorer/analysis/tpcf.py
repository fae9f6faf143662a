"""Two-point-correlation (TPCF) score of a representation (Mohale et al., seed 003).

How hard is it to describe a point cloud as one drawn from a single Gaussian?
The embeddings are PCA-reduced to ``n_components`` dimensions (2 by default);
a Gaussian with the data's mean and covariance is the "random" catalogue, and

    xi(r) = f**2 * DD(r) / RR(r) - 1,   f = N_R / N_D,
    sigma_i = (1 + xi_i) / sqrt(DD_i),
    score = sum_i xi_i  +-  sum_i sigma_i,

over linear separation bins. A cluster shows up as a bump of ``xi`` at small
``r`` (an excess of close pairs), so a more structured space scores higher.

This module is the *fast* implementation used by the UI. The reference
(explicit random catalogue, scikit-learn ``KDTree.two_point_correlation``
pair counts, as in the paper's code) is
:func:`explorer.bench.tpcf_reference.tpcf_score_reference`; the two agree
within the reference's bootstrap sigma (``latentsky bench analysis``).

Assumptions of the fast implementation
--------------------------------------
* **RR is analytic.** The separation of two independent draws of
  ``N(mu, S)`` is ``N(0, 2 S)``; with ``2 S = V diag(lam) V^T`` and a direction
  ``u`` uniform on the sphere, ``|d|**2 = rho**2 * (u^T diag(lam) u)`` with
  ``rho**2 ~ chi2(n_components)``, so
  ``P(|d| <= r) = E_u[F_chi2(r**2 / u^T diag(lam) u)]``. The expectation is a
  smooth integral over directions: a uniform angle grid (trapezoid rule,
  spectrally accurate) in 2-D, a fixed scrambled Sobol set of directions in
  more dimensions. ``RR`` is then the expected pair count of an infinite random
  catalogue (``N_R -> infinity``), i.e. ``f**2 RR -> N_D**2 P_bin``; the cost
  is independent of ``N_R``.
* **DD** counts ordered pairs ``(i, j)``, ``i != j`` (the convention of
  ``KDTree.two_point_correlation``), with separation in ``(e_k, e_k+1]``.
  Small selections (``N <= exact_max``) are counted exactly with
  ``scipy.spatial.cKDTree.count_neighbors``; larger ones on a fine grid
  (nearest-grid-point assignment, cell 1/8 to 1/4 of a bin width) whose
  autocorrelation is one FFT, so 100 000 points cost the same as 10 000.
  The grid shifts each separation by less than one cell diagonal, with zero
  mean, which moves the score far less than its sigma.
* **Bins** are linear from 0 to ``r_max``; by default ``r_max`` is twice the
  r.m.s. separation of the random pairs, ``2 * sqrt(trace(2 S))``, so bins are
  set by the data's own scale and DD/RR are well populated.
* A bin with ``DD = 0`` gets the one-pair error ``f**2 / RR`` (instead of an
  infinite or undefined sigma); a bin with ``RR = 0`` is left out of the sum.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from explorer.errors import DataError

log = logging.getLogger(__name__)

#: Selections up to this size get exact (tree) pair counts.
EXACT_MAX = 6000
#: Largest grid side per dimension for the FFT pair count.
GRID_MAX_CELLS = 1 << 22
_ANGLES_2D = 4096
_DIRECTIONS_ND = 1 << 14


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


def check_finite(X: np.ndarray, ids: np.ndarray | None = None) -> np.ndarray:
    """Return ``X`` as a 2-D float64 array; refuse rows holding NaN/inf.

    Raises
    ------
    DataError
        If ``X`` is not 2-D, or naming (up to five of) the ids, or row numbers
        when ``ids`` is None, of the non-finite rows.
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        msg = f"embeddings must be 2-D (n, D), got shape {X.shape}"
        raise DataError(msg)
    bad = ~np.isfinite(X).all(axis=1)
    if bad.any():
        where = np.flatnonzero(bad)
        named = (np.asarray(ids)[where] if ids is not None else where)[:5].tolist()
        what = "ids" if ids is not None else "rows"
        msg = f"embeddings hold NaN/inf in {int(bad.sum())} row(s): {what} {named}"
        raise DataError(msg)
    return X


def single_threaded_blas():
    """Context limiting BLAS to one thread.

    The metrics run on a shared, loaded machine next to the UI; there a
    128 x 128 Gram matrix of 10^5 rows took 0.6-3.5 s with two BLAS threads
    fighting for cores and 0.09 s with one.
    """
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="blas")


def pca_reduce(X: np.ndarray, n_components: int) -> np.ndarray:
    """Project ``X`` (n, D) on its first ``n_components`` principal axes.

    Returns
    -------
    ndarray
        ``(n, n_components)`` float64, centred.
    """
    centred = X - X.mean(axis=0)
    if X.shape[1] <= n_components:
        return centred
    with single_threaded_blas():
        cov = centred.T @ centred / max(len(X) - 1, 1)
        _, vecs = np.linalg.eigh(cov)
        return centred @ vecs[:, ::-1][:, :n_components]


def default_edges(
    cov: np.ndarray, n_bins: int, r_max: float | None = None
) -> np.ndarray:
    """Linear bin edges from 0 to ``r_max`` (default ``2 sqrt(trace(2 cov))``)."""
    if r_max is None:
        r_max = 2.0 * float(np.sqrt(2.0 * np.trace(np.atleast_2d(cov))))
    return np.linspace(0.0, r_max, n_bins + 1)


def pair_separation_cdf(cov: np.ndarray, r: np.ndarray) -> np.ndarray:
    """``P(|x1 - x2| <= r)`` for independent ``x1, x2 ~ N(mu, cov)``.

    Parameters
    ----------
    cov : ndarray
        ``(d, d)`` covariance.
    r : ndarray
        Separations (same units as the data).

    Returns
    -------
    ndarray
        CDF values, same shape as ``r``.
    """
    from scipy.special import gammainc

    cov = np.atleast_2d(np.asarray(cov, dtype=np.float64))
    d = cov.shape[0]
    lam = np.clip(np.linalg.eigvalsh(2.0 * cov), 0.0, None)
    r2 = np.square(np.asarray(r, dtype=np.float64)).reshape(-1)
    if d == 1:
        q = np.array([lam[0]])
    elif d == 2:
        theta = (np.arange(_ANGLES_2D) + 0.5) * (np.pi / _ANGLES_2D)
        q = lam[0] * np.cos(theta) ** 2 + lam[1] * np.sin(theta) ** 2
    else:
        q = (_sphere_directions(d) ** 2) @ lam
    with np.errstate(divide="ignore", invalid="ignore"):
        x = r2[:, None] / q[None, :]
    x = np.where(q[None, :] > 0, x, np.inf)
    cdf = gammainc(d / 2.0, x / 2.0).mean(axis=1)
    return cdf.reshape(np.shape(r))


_DIRECTIONS_CACHE: dict[int, np.ndarray] = {}


def _sphere_directions(d: int) -> np.ndarray:
    if d not in _DIRECTIONS_CACHE:
        from scipy.stats import norm, qmc

        u = qmc.Sobol(d, scramble=True, seed=0).random(_DIRECTIONS_ND)
        z = norm.ppf(np.clip(u, 1e-12, 1 - 1e-12))
        _DIRECTIONS_CACHE[d] = z / np.linalg.norm(z, axis=1, keepdims=True)
    return _DIRECTIONS_CACHE[d]


def pair_counts_tree(Y: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Exact ordered-pair counts (``i != j``) per bin ``(e_k, e_k+1]``."""
    from scipy.spatial import cKDTree

    tree = cKDTree(Y)
    cumulative = tree.count_neighbors(tree, edges).astype(np.float64)
    return np.diff(cumulative)


def pair_counts_grid(Y: np.ndarray, edges: np.ndarray) -> np.ndarray | None:
    """Ordered-pair counts per bin from the FFT autocorrelation of a grid.

    The cell is 1/8 of a bin width (1/6 or 1/4 when the data's extent needs
    it). Returns None when no such grid fits in :data:`GRID_MAX_CELLS` cells
    (far outliers); the caller then counts exactly.
    """
    n, d = Y.shape
    lo, hi = Y.min(axis=0), Y.max(axis=0)
    for per_bin in (8.0, 6.0, 4.0):
        cell = (edges[1] - edges[0]) / per_bin
        sides = np.maximum(np.ceil((hi - lo) / cell).astype(np.int64) + 1, 1)
        padded = 2 * sides
        if np.prod(padded.astype(float)) <= GRID_MAX_CELLS:
            break
    else:
        return None
    cells = np.floor((Y - lo) / cell).astype(np.int64)
    flat = np.ravel_multi_index(tuple(cells.T), tuple(padded))
    grid = np.bincount(flat, minlength=int(np.prod(padded))).reshape(tuple(padded))
    spectrum = np.fft.rfftn(grid.astype(np.float64))
    auto = np.fft.irfftn(
        spectrum * np.conj(spectrum), s=tuple(padded), axes=tuple(range(d))
    )
    counts = np.rint(auto).ravel()
    # Displacement of each lag in cell units, wrapped to [-side, side).
    axes = [np.fft.fftfreq(int(p), 1.0 / int(p)) for p in padded]
    sq = np.zeros(tuple(padded))
    for k, a in enumerate(axes):
        shape = [1] * d
        shape[k] = -1
        sq = sq + (a.reshape(shape) * cell) ** 2
    dist = np.sqrt(sq).ravel()
    counts[0] -= n  # self pairs
    near = (dist <= edges[-1] + cell) & (counts != 0)
    return _spread_over_bins(dist[near], counts[near], edges, cell)


def _spread_over_bins(
    dist: np.ndarray, counts: np.ndarray, edges: np.ndarray, cell: float
) -> np.ndarray:
    """Split each grid lag's pairs between the two bins around the nearest edge.

    Within a cell the points are taken as uniform, so a lag's true separation
    is its grid distance plus a radial offset of variance ``cell**2 / 6``,
    modelled as triangular on ``[-cell, cell]``. Without this split, every
    pair near an edge would fall wholly on one side (percent-level noise per
    bin, larger than sigma for 10^4+ points).
    """
    width = edges[1] - edges[0]
    n_bins = len(edges) - 1
    nearest = np.rint(dist / width).astype(np.int64)
    t = np.clip((dist - nearest * width) / cell, -1.0, 1.0)
    # P(offset < -t * cell) for a triangular offset on [-1, 1] (cell units).
    x = -t
    below = np.where(x <= 0, 0.5 * (1 + x) ** 2, 1 - 0.5 * (1 - x) ** 2)
    below = np.where(nearest == 0, 0.0, below)
    out = np.zeros(n_bins + 1)
    lower = nearest - 1
    ok = (lower >= 0) & (lower < n_bins)
    np.add.at(out, lower[ok], counts[ok] * below[ok])
    ok = nearest < n_bins
    np.add.at(out, nearest[ok], counts[ok] * (1 - below[ok]))
    return out[:n_bins]


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
    X = check_finite(X, ids)
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
