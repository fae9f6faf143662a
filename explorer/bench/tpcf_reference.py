"""Reference TPCF score, run the way the method is run in practice.

* **Randoms:** an explicit catalogue of ``N_R = random_factor * N_D`` points
  (``random_factor >= 5``) drawn from a Gaussian with the reduced data's mean
  and covariance (the paper's "how hard is it to describe the space as one
  generated from a Gaussian").
* **Pair counts:** TreeCorr's ``NNCorrelation`` (linear bins, its default
  ``bin_slop``), DD, RR and DR, in the same PCA space as the fast score:
  2-D ``x, y`` catalogues for 2 components (the paper's choice, "2PCF scores
  on PCA components"), 3-D ``x, y, z`` for 3; TreeCorr has no d > 3 metric.
* **Estimators:** Landy-Szalay, ``calculateXi(rr=, dr=)``, the estimator of
  practice; and the paper's natural estimator ``DD / RR - 1``
  (``calculateXi(rr=)``), which is what the fast score computes. TreeCorr
  normalises an auto-correlation by ``N**2 / 2`` pairs; we set ``tot`` to the
  ``N (N - 1) / 2`` distinct pairs it actually counts, the normalisation of
  the fast score.

It exists to validate :func:`explorer.analysis.tpcf.tpcf_score` (tests and
``latentsky bench analysis``), not for the UI: at 20 000 points it takes tens
of seconds where the fast score takes tens of milliseconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from explorer.analysis import tpcf
from explorer.analysis.pca import pca_reduce
from explorer.analysis.validate import finite_rows
from explorer.errors import DataError


@dataclass(frozen=True)
class ReferenceResult:
    """One reference TPCF score (one random catalogue).

    Attributes
    ----------
    score_ls : float
        Sum over bins of the Landy-Szalay ``xi``.
    score_natural : float
        Sum over bins of ``DD / RR - 1`` (the paper's estimator).
    xi_ls, xi_natural : ndarray
        ``(n_bins,)`` per-bin values.
    edges : ndarray
        ``(n_bins + 1,)`` bin edges (PCA units), those of the fast score.
    n_data, n_random : int
        Catalogue sizes.
    """

    score_ls: float
    score_natural: float
    xi_ls: np.ndarray = field(repr=False)
    xi_natural: np.ndarray = field(repr=False)
    edges: np.ndarray = field(repr=False)
    n_data: int = 0
    n_random: int = 0


def _catalog(points: np.ndarray):
    import treecorr

    cols = dict(zip("xyz", points.T, strict=False))
    return treecorr.Catalog(**cols)


def _correlation(edges: np.ndarray):
    import treecorr

    return treecorr.NNCorrelation(
        min_sep=float(edges[0]),
        max_sep=float(edges[-1]),
        nbins=len(edges) - 1,
        bin_type="Linear",
    )


def tpcf_score_reference(
    X: np.ndarray,
    *,
    n_components: int = 2,
    n_bins: int = 20,
    r_max: float | None = None,
    random_factor: int = 5,
    seed: int = 0,
) -> ReferenceResult:
    """TPCF score with explicit Gaussian randoms and TreeCorr pair counts.

    Parameters
    ----------
    X : ndarray
        ``(n, D)`` embeddings.
    n_components : {2, 3}
        PCA dimensions (TreeCorr's flat 2-D or 3-D Euclidean metric).
    n_bins, r_max
        As in :func:`explorer.analysis.tpcf.tpcf_score` (same bins).
    random_factor : int
        ``N_R / N_D`` (at least 5).
    seed : int
        Seed of the random catalogue.

    Returns
    -------
    ReferenceResult

    Raises
    ------
    DataError
        If ``n_components`` is not 2 or 3, ``random_factor < 5``, or the
        reduced data are degenerate.
    """
    if n_components not in (2, 3):
        msg = f"TreeCorr reference needs n_components 2 or 3, got {n_components}"
        raise DataError(msg)
    if random_factor < 5:
        msg = f"random_factor {random_factor} is below 5 (N_R >= 5 N_D)"
        raise DataError(msg)
    Y = pca_reduce(finite_rows(np.asarray(X, dtype=np.float64)), n_components)
    reason = tpcf.degenerate_reason(Y, 10)
    if reason:
        raise DataError(f"TPCF reference: {reason}")
    cov = np.atleast_2d(np.cov(Y.T))
    edges = tpcf.default_edges(cov, n_bins, r_max)
    n_data, n_random = len(Y), random_factor * len(Y)
    randoms = np.random.default_rng(seed).multivariate_normal(
        Y.mean(axis=0), cov, size=n_random
    )
    data_cat, rand_cat = _catalog(Y), _catalog(randoms)
    dd, rr, dr = (_correlation(edges) for _ in range(3))
    dd.process(data_cat)
    rr.process(rand_cat)
    dr.process(data_cat, rand_cat)
    # Distinct pairs, as counted (TreeCorr's auto default is N**2 / 2).
    dd.tot = n_data * (n_data - 1) / 2.0
    rr.tot = n_random * (n_random - 1) / 2.0
    xi_ls, _ = dd.calculateXi(rr=rr, dr=dr)
    xi_nat, _ = dd.calculateXi(rr=rr)
    return ReferenceResult(
        score_ls=float(np.sum(xi_ls)),
        score_natural=float(np.sum(xi_nat)),
        xi_ls=np.asarray(xi_ls),
        xi_natural=np.asarray(xi_nat),
        edges=edges,
        n_data=n_data,
        n_random=n_random,
    )


def reference_spread(
    X: np.ndarray, *, n_draws: int = 3, seed: int = 0, **kwargs
) -> dict[str, object]:
    """Reference scores over ``n_draws`` independent random catalogues.

    Returns
    -------
    dict
        ``ls`` and ``natural``: ``{"scores", "mean", "std"}`` (``std`` with
        ``ddof=1``) over the draws; ``n_random``.
    """
    runs = [tpcf_score_reference(X, seed=seed + k, **kwargs) for k in range(n_draws)]
    out: dict[str, object] = {"n_random": runs[0].n_random, "n_draws": n_draws}
    for name in ("ls", "natural"):
        scores = np.array([getattr(r, f"score_{name}") for r in runs])
        out[name] = {
            "scores": scores.tolist(),
            "mean": float(scores.mean()),
            "std": float(scores.std(ddof=1)) if n_draws > 1 else float("nan"),
        }
    return out
