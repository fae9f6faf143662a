"""Two-point-correlation (TPCF) score of a representation (Mohale et al.).

How hard is it to describe a point cloud as one drawn from a single Gaussian?
The embeddings are PCA-reduced to ``n_components`` dimensions (2 by default,
the paper scores "on PCA components"); a Gaussian with the data's mean and
covariance is the "random" catalogue, and

    xi(r) = DD(r) / RR(r) - 1     (both per n (n - 1) ordered pairs i != j),
    score = sum_i xi_i  +-  sigma,

over linear separation bins. A cluster shows up as a bump of ``xi`` at small
``r`` (an excess of close pairs), so a more structured space scores higher.

* **Normalisation.** DD counts the ``n (n - 1)`` ordered pairs ``i != j``, so
  RR is normalised to the same number (not ``n**2``, which biased every bin
  by ``-1/n``). Up to :data:`FINITE_N_MAX` points RR is the exact finite-n
  expectation of moment-matched Gaussian catalogues
  (:func:`~explorer.analysis.tpcf_pairs.matched_random_pairs`), which makes
  the mean score on Gaussian data 0 at any n (tested at n = 10, 20, 50);
  above, its analytic large-n limit.
* **sigma** is the paper's Poisson ``sum_i (1 + xi_i) / sqrt(DD_i)`` by
  default, or (``sigma="bootstrap"|"jackknife"``) the standard error from
  resampling the sources, which on clustered data is ~20x larger and matches
  the spread of the score between independent surveys; the result records
  which (``sigma_method``, ``n_resamples``).

This is the *fast* implementation used by the UI (pair counts in
:mod:`explorer.analysis.tpcf_pairs`: RR analytic; DD exact with a tree up to
``exact_max`` points, else on an FFT grid): ~0.04 s at 20 000 x 128 float32
points, the N_R -> infinity limit of the reference (explicit Gaussian randoms,
N_R = 5 N_D, TreeCorr pair counts, :mod:`explorer.bench.tpcf_reference`).
**Bins** are linear from 0 to ``r_max``, by default twice the r.m.s.
separation of the random pairs, ``2 * sqrt(trace(2 S))``. A bin with
``DD = 0`` gets the one-pair error ``1 / RR``; one with ``RR = 0`` is left out.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field, replace

import numpy as np

from explorer.analysis.pca import pca_reduce, single_threaded_blas
from explorer.analysis.tpcf_pairs import (
    GridPairCounter,
    matched_random_pairs,
    pair_counts_grid,
    pair_counts_tree,
    random_pairs,
)
from explorer.analysis.tpcf_resample import BinnedPairs
from explorer.analysis.validate import finite_rows
from explorer.errors import DataError

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
        Uncertainty of ``score``: ``sum(sigma_i)``, the paper's Poisson error,
        or the bootstrap / jackknife standard error (``sigma_method``).
    r : ndarray
        ``(n_bins,)`` bin centres in PCA units.
    xi : ndarray
        ``(n_bins,)`` correlation function per bin.
    sigma_r : ndarray
        ``(n_bins,)`` per-bin uncertainty of ``xi`` (same method as ``sigma``).
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
    sigma_method : str
        ``"poisson"``, ``"bootstrap"`` or ``"jackknife"``.
    n_resamples : int
        Resamples behind a bootstrap / jackknife ``sigma`` (0 for Poisson).
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
    sigma_method: str = "poisson"
    n_resamples: int = 0

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
    """``xi = DD / RR - 1`` and ``sigma = (1 + xi) / sqrt(DD)`` per bin.

    ``rr_scaled`` is RR expressed per data pair (normalised to ``n (n - 1)``).
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


SIGMAS = ("poisson", "bootstrap", "jackknife")
#: Resamples of the bootstrap / groups of the jackknife by default.
N_RESAMPLES = {"bootstrap": 30, "jackknife": 20}
#: Up to this many points RR is the exact finite-n expectation
#: (:func:`matched_random_pairs`); above, the analytic large-n limit, whose
#: bias (about 2 / n on the score) is far below any sigma there.
FINITE_N_MAX = 1000
#: Resamples of more points than this count pairs on the FFT grid (fewer:
#: one exact pair list, :class:`~explorer.analysis.tpcf_resample.BinnedPairs`).
RESAMPLE_TREE_MAX = 1000


def tpcf_score(
    X: np.ndarray,
    *,
    n_components: int = 2,
    n_bins: int = 20,
    r_max: float | None = None,
    ids: np.ndarray | None = None,
    min_points: int = 10,
    exact_max: int = EXACT_MAX,
    sigma: str = "poisson",
    n_resamples: int | None = None,
    seed: int = 0,
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
    sigma : {"poisson", "bootstrap", "jackknife"}
        How ``sigma`` is estimated: the paper's per-bin Poisson error
        ``(1 + xi) / sqrt(DD)`` summed over bins; the standard deviation of
        the score over bootstrap resamples of the sources; or the
        delete-one-group jackknife over ``n_resamples`` random groups of
        sources. The resampled scores keep the PCA axes and the bins of the
        full selection and re-estimate the Gaussian's mean and covariance.
    n_resamples : int, optional
        Bootstrap resamples / jackknife groups (default
        :data:`N_RESAMPLES`); ignored for ``"poisson"``.
    seed : int
        Seed of the resampling.

    Returns
    -------
    TPCFResult
        NaN ``score`` and a ``reason`` for degenerate input, never an
        exception; ``sigma_method`` and ``n_resamples`` say how ``sigma`` was
        estimated.

    Raises
    ------
    DataError
        If ``X`` holds NaN/inf rows (naming them) or is not 2-D, or
        ``sigma`` is not one of :data:`SIGMAS`.
    """
    if sigma not in SIGMAS:
        msg = f"TPCF sigma {sigma!r} is not one of {SIGMAS}"
        raise DataError(msg)
    X = finite_rows(X, ids)
    if len(X) == 0:
        return nan_result("empty selection", 0, n_components)
    Y = principal_projection(X, n_components)
    reason = degenerate_reason(Y, min_points)
    if reason:
        return nan_result(reason, len(Y), Y.shape[1])
    cov = np.atleast_2d(np.cov(Y.T))
    edges = default_edges(cov, n_bins, r_max)
    dd = None if len(Y) <= exact_max else pair_counts_grid(Y, edges)
    if dd is None:
        dd = pair_counts_tree(Y, edges)
    n = len(Y)
    if n <= FINITE_N_MAX:
        # Seeded by the data: the same selection gives the same score, and
        # the Monte Carlo error of RR is not one fixed offset for every input.
        # The seed is the order of the points along the first principal axis,
        # so that scaling or shifting the points (which the score ignores)
        # does not draw other randoms.
        order = np.argsort(Y[:, 0], kind="stable").astype(np.int64)
        seed_rr = zlib.crc32(order.tobytes())
        rr_scaled = matched_random_pairs(cov, edges, n, seed_rr)
    else:
        rr_scaled = random_pairs(cov, edges, float(n) * (n - 1))
    result = assemble(dd, rr_scaled, edges, n, Y.shape[1])
    if sigma == "poisson" or not np.isfinite(result.score):
        return result
    n_resamples = n_resamples or N_RESAMPLES[sigma]
    scores, xis = resampled_scores(Y, edges, sigma, n_resamples, seed)
    total, per_bin = resampling_sigma(scores, xis, sigma)
    return replace(
        result,
        sigma=total,
        sigma_r=per_bin,
        sigma_method=sigma,
        n_resamples=int(np.isfinite(scores).sum()),
    )


def principal_projection(X: np.ndarray, n_components: int) -> np.ndarray:
    """The selection on its first ``n_components`` principal axes (float64).

    That of :func:`~explorer.analysis.pca.pca_reduce`; for float32 input of
    more than :data:`FINITE_N_MAX` rows the ``D x D`` covariance is
    accumulated in float32: half the time of float64 at 20 000 x 128; the
    coordinates agree to ~1e-7 relative, which moves a few points across a
    grid-cell edge (score change ~1e-5 at 20 000 points, against a spread of
    ~0.02 over reference draws). Up to :data:`FINITE_N_MAX` rows the matched
    randoms are seeded by the order of the points along the first axis, so
    there the float64 path is kept bit for bit.

    Parameters
    ----------
    X : ndarray
        ``(n, D)`` finite values.
    n_components : int
        Output dimensions.

    Returns
    -------
    ndarray
        ``(n, min(D, n_components))`` centred float64 coordinates.
    """
    n, dim = X.shape
    if X.dtype != np.float32 or n <= FINITE_N_MAX or dim <= n_components:
        return pca_reduce(np.asarray(X, dtype=np.float64), n_components)
    with single_threaded_blas():
        mean = X.mean(axis=0, dtype=np.float64)
        centred = X - mean.astype(np.float32)
        cov = (centred.T @ centred).astype(np.float64) / (n - 1)
        # LAPACK's full eigh, as pca_reduce: the same signs of the axes, which
        # set the phase of the FFT grid (a flip moves the score by ~1e-3).
        _, vecs = np.linalg.eigh(cov)
        axes = np.ascontiguousarray(vecs[:, ::-1][:, :n_components], np.float32)
        return (centred @ axes).astype(np.float64)


def resample_weights(
    n: int, method: str, n_resamples: int, seed: int
) -> list[np.ndarray]:
    """Multiplicities of the sources in each bootstrap / jackknife resample.

    Bootstrap: ``n`` draws with replacement (multinomial counts). Jackknife:
    the sources are dealt into ``n_resamples`` random groups of (nearly) equal
    size and resample ``k`` leaves group ``k`` out.
    """
    rng = np.random.default_rng(seed)
    if method == "bootstrap":
        return [
            np.bincount(rng.integers(0, n, n), minlength=n).astype(np.float64)
            for _ in range(n_resamples)
        ]
    groups = rng.permutation(n) % n_resamples
    return [(groups != k).astype(np.float64) for k in range(n_resamples)]


def resampled_scores(
    Y: np.ndarray, edges: np.ndarray, method: str, n_resamples: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Score and ``xi`` of each resample of the reduced points ``Y``.

    Returns
    -------
    (ndarray, ndarray)
        ``(n_resamples,)`` scores and ``(n_resamples, n_bins)`` ``xi``; NaN
        for a degenerate resample.
    """
    weights = resample_weights(len(Y), method, n_resamples, seed)
    counter = GridPairCounter.build(Y, edges) if len(Y) > RESAMPLE_TREE_MAX else None
    if counter is not None:
        counts = [counter.counts(w) for w in weights]
    else:
        # one pair list for every resample: the tree counts, several times faster
        counts = list(BinnedPairs.build(Y, edges).counts(np.asarray(weights)))
    scores, xis = [], []
    for w, dd in zip(weights, counts, strict=True):
        keep = w > 0
        if keep.sum() < 3:
            scores.append(np.nan)
            xis.append(np.full(len(edges) - 1, np.nan))
            continue
        cov = np.atleast_2d(np.cov(Y[keep].T, fweights=w[keep].astype(np.int64)))
        total = float(w.sum())
        rr = random_pairs(cov, edges, total * total - float(np.sum(w * w)))
        res = assemble(dd, rr, edges, len(Y), Y.shape[1])
        scores.append(res.score)
        xis.append(res.xi if len(res.xi) else np.full(len(edges) - 1, np.nan))
    return np.asarray(scores), np.asarray(xis)


def resampling_sigma(
    scores: np.ndarray, xis: np.ndarray, method: str
) -> tuple[float, np.ndarray]:
    """Standard error of the score and per-bin ``xi`` from resampled values.

    Bootstrap: the standard deviation (``ddof=1``) over resamples.
    Jackknife: ``sqrt((K - 1) / K * sum_k (s_k - mean)**2)`` over the ``K``
    leave-one-group-out values.
    """
    ok = np.isfinite(scores)
    s, x = scores[ok], xis[ok]
    if len(s) < 2:
        return np.nan, np.full(xis.shape[1], np.nan)
    if method == "bootstrap":
        return float(np.std(s, ddof=1)), np.nanstd(x, axis=0, ddof=1)
    k = len(s)
    factor = (k - 1) / k
    per_bin = np.sqrt(factor * np.nansum((x - np.nanmean(x, axis=0)) ** 2, axis=0))
    return float(np.sqrt(factor * np.sum((s - s.mean()) ** 2))), per_bin


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
