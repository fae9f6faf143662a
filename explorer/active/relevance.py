"""Relevance of every source, learned from a few labels on the embedding.

The idea is Astronomaly's ``NeighbourScore`` (Lochner & Bassett 2021): what a
user said about a source is spread to the sources that look like it, and
mixed with the unsupervised anomaly score where the user has said nothing.
Here it is a Nadaraya-Watson kernel regression with the anomaly score as the
prior, truncated to each label's ``k`` nearest neighbours:

.. math::

    r_i = \\frac{\\sum_j w_{ij} y_j + c\\,\\pi_i}{\\sum_j w_{ij} + c}, \\qquad
    w_{ij} = \\exp\\left(-\\frac{1 - s_{ij}}{h}\\right)
    \\text{ if } i \\in \\mathrm{kNN}(j) \\text{ else } 0,

with ``y_j`` the label value (interesting 1, boring and artefact 0), ``s_ij``
the cosine similarity of unit embeddings, ``h`` the bandwidth (a cosine
distance), ``c`` the prior's weight in pseudo-labels and ``pi_i`` the prior
from the anomaly score (:func:`anomaly_prior`). With no labels ``r`` is the
anomaly order; a source next to boring labels sinks, one next to an
interesting label rises above the unexplored top of the anomaly ranking.

The uncertainty of a source is its cosine distance to the nearest labelled
source (exact: each label's similarity to every source is computed once).

Incremental: a label costs one ``(N, D) @ (D,)`` product (the exact
similarity of the labelled vector to all, which gives both its ``k``
neighbours and the nearest-label distances) and a ``k``-sparse update of two
sums; the relevance is two ``(N,)`` vector operations away. Removing a label
subtracts its terms; only the nearest-label distance is recomputed, from the
remaining labels, in one blocked matrix product.

Evidence (``latentsky bench active``, benchmarks/results/active-2026-12-01.json;
8000 sources, 32 px, pixel PCA-64 of asinh cutouts, 2 seeds x 4 science
kinds per preset, 100 views, shared 2-core machine): mean interesting found

=======  =======  =================  ======  =====  ========================
preset   density  density (science)  active  GP     hunts with a find
=======  =======  =================  ======  =====  ========================
demo     0.125    0.375              6.125   0.125  active 4/8, density 1/8
second   0.625    0.625              1.5     0.25   active 1/8, density 4/8
=======  =======  =================  ======  =====  ========================

Once a hunt finds its first target, propagation pays (rings: 12-22 of 52
in 100 views); whether it finds one at all is luck with this embedding,
where the science kinds sit at median anomaly rank 600-1250 of 8000 (none
in the top 100). On ``second`` the mean passes 2x density on a single hunt.
Per label at 1 M x 64 (memory-mapped): 0.15 s median, 0.19 s max; an undo
0.5 s.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import numpy as np

from explorer.errors import DataError

log = logging.getLogger(__name__)

#: What each tag says about "interesting" (the relevance is P(interesting)).
LABEL_VALUES = {"interesting": 1.0, "boring": 0.0, "artefact": 0.0}
#: Rows per block of the undo's similarity product (bounded memory).
_BLOCK = 262_144


def anomaly_prior(
    anomaly_score: np.ndarray, top: float = 0.5, power: float = 20.0
) -> np.ndarray:
    """Prior P(interesting) of each source from its anomaly score.

    ``top * q**power`` with ``q`` the rank quantile of the score (1 for the
    most anomalous, ties share their mean rank): steep, because only the top
    few per cent of an anomaly ranking are worth a look, so that one
    interesting neighbour outweighs an unexplored high rank.

    Parameters
    ----------
    anomaly_score : ndarray
        ``(N,)`` higher = more anomalous (map.parquet ``anomaly_score``).
    top : float
        Prior of the most anomalous source, in (0, 1).
    power : float
        Steepness (> 0).

    Returns
    -------
    ndarray
        ``(N,)`` float64 in (0, top].

    Raises
    ------
    DataError
        If the score is empty, not 1-D, or not finite.
    """
    from scipy.stats import rankdata

    score = np.asarray(anomaly_score, dtype=np.float64)
    if score.ndim != 1 or score.size == 0 or not np.all(np.isfinite(score)):
        msg = (
            f"anomaly_score must be a non-empty finite (N,) array, got shape "
            f"{score.shape} with {int(np.sum(~np.isfinite(score)))} non-finite"
        )
        raise DataError(msg)
    quantile = rankdata(score) / score.size
    return top * quantile**power


class RelevanceModel:
    """Label propagation on the embedding with the anomaly score as prior.

    The defaults are the best of a small grid on the demo preset (``latentsky
    bench active``: 8000 sources, 32 px, pixel-PCA embedding, 100 views): a
    wide reach (``k = 300``, ``h = 0.5``) and a weak prior (``c = 0.1``), so
    that a few boring labels push the queue out of a whole region of
    look-alikes (the artefact- and bright-galaxy-dominated top of the anomaly
    ranking) and one interesting label pulls its region up.

    Parameters
    ----------
    k : int
        Neighbours of a labelled source that its label reaches.
    bandwidth : float
        Kernel width ``h``, in cosine distance.
    prior_weight : float
        ``c``: how many labels' worth the anomaly prior counts.
    prior_top, prior_power : float
        Shape of :func:`anomaly_prior`.

    Attributes
    ----------
    prior_ : ndarray
        ``(N,)`` the anomaly prior.
    labels_ : dict
        ``row -> value`` of the labelled sources.
    nearest_similarity_ : ndarray
        ``(N,)`` float32 cosine similarity to the nearest labelled source (-1
        with no label).
    """

    def __init__(
        self,
        k: int = 300,
        bandwidth: float = 0.5,
        prior_weight: float = 0.1,
        prior_top: float = 0.5,
        prior_power: float = 5.0,
    ) -> None:
        self.k = k
        self.bandwidth = bandwidth
        self.prior_weight = prior_weight
        self.prior_top = prior_top
        self.prior_power = prior_power

    def fit(self, vectors: np.ndarray, anomaly_score: np.ndarray) -> RelevanceModel:
        """Attach the embedding and the anomaly score; no labels yet.

        Parameters
        ----------
        vectors : ndarray
            ``(N, D)`` float32 unit rows (a memory map is read, not copied).
        anomaly_score : ndarray
            ``(N,)`` higher = more anomalous.

        Raises
        ------
        DataError
            If shapes disagree, or a setting is out of range.
        """
        if vectors.ndim != 2 or len(vectors) != len(anomaly_score):
            msg = (
                f"embedding shape {vectors.shape} does not match "
                f"{len(anomaly_score)} anomaly scores"
            )
            raise DataError(msg)
        if self.k < 1 or self.bandwidth <= 0 or self.prior_weight <= 0:
            msg = (
                f"RelevanceModel needs k >= 1, bandwidth > 0, prior_weight > 0; got "
                f"k={self.k}, bandwidth={self.bandwidth}, "
                f"prior_weight={self.prior_weight}"
            )
            raise DataError(msg)
        n = len(vectors)
        self.vectors_ = vectors
        self.prior_ = anomaly_prior(anomaly_score, self.prior_top, self.prior_power)
        self.weight_sum_ = np.zeros(n, dtype=np.float64)
        self.label_sum_ = np.zeros(n, dtype=np.float64)
        self.nearest_similarity_ = np.full(n, -1.0, dtype=np.float32)
        self.labels_: dict[int, float] = {}
        self._reach: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        return self

    @property
    def n_sources(self) -> int:
        """Sources the model covers."""
        return len(self.prior_)

    def _check_rows(self, rows: Iterable[int]) -> np.ndarray:
        arr = np.atleast_1d(np.asarray(list(rows), dtype=np.int64))
        bad = arr[(arr < 0) | (arr >= self.n_sources)]
        if bad.size:
            msg = (
                f"row {int(bad[0])} is outside the embedding (0..{self.n_sources - 1})"
            )
            raise DataError(msg)
        return arr

    def label(self, rows: Iterable[int], values: Iterable[float] | float) -> None:
        """Add (or change) labels; each costs one similarity scan of the embedding.

        Parameters
        ----------
        rows : iterable of int
            Row indices (embedding order) of the labelled sources.
        values : float or iterable of float
            Label values in [0, 1] (see :data:`LABEL_VALUES`), one per row or
            one for all.

        Raises
        ------
        DataError
            If a row is out of range or a value is outside [0, 1].
        """
        arr = self._check_rows(rows)
        vals = np.broadcast_to(np.asarray(values, dtype=np.float64), arr.shape)
        if np.any(~np.isfinite(vals)) or np.any((vals < 0) | (vals > 1)):
            msg = f"label values must lie in [0, 1], got {vals.tolist()}"
            raise DataError(msg)
        k = min(self.k, self.n_sources)
        for row, value in zip(arr.tolist(), vals.tolist(), strict=True):
            if row in self.labels_:  # a changed label replaces the old one
                self._subtract([row])
            sims = np.asarray(self.vectors_ @ self.vectors_[row], dtype=np.float32)
            np.maximum(self.nearest_similarity_, sims, out=self.nearest_similarity_)
            near = np.argpartition(-sims, k - 1)[:k] if k < len(sims) else np.arange(k)
            weights = np.exp(-(1.0 - sims[near].astype(np.float64)) / self.bandwidth)
            self.weight_sum_[near] += weights
            self.label_sum_[near] += weights * value
            self._reach[row] = (near, weights)
            self.labels_[row] = value

    def label_tags(self, rows: Iterable[int], tags: Iterable[str]) -> None:
        """:meth:`label` with tag names (interesting / boring / artefact)."""
        tags = list(tags)
        unknown = sorted({t for t in tags if t not in LABEL_VALUES})
        if unknown:
            msg = f"tag {unknown[0]!r} is not one of {tuple(LABEL_VALUES)}"
            raise DataError(msg)
        self.label(rows, [LABEL_VALUES[t] for t in tags])

    def _subtract(self, rows: list[int]) -> None:
        for row in rows:
            near, weights = self._reach.pop(row)
            self.weight_sum_[near] -= weights
            self.label_sum_[near] -= weights * self.labels_.pop(row)
        # float round-off must not leave a ghost weight where no label reaches
        np.maximum(self.weight_sum_, 0.0, out=self.weight_sum_)

    def unlabel(self, rows: Iterable[int]) -> None:
        """Remove labels (an undo); unknown rows are ignored."""
        present = [int(r) for r in self._check_rows(rows) if int(r) in self.labels_]
        if not present:
            return
        self._subtract(present)
        self.nearest_similarity_.fill(-1.0)
        labelled = np.fromiter(self.labels_, dtype=np.int64, count=len(self.labels_))
        if labelled.size:
            queries = np.asarray(self.vectors_[np.sort(labelled)], dtype=np.float32)
            for start in range(0, self.n_sources, _BLOCK):
                block = np.asarray(self.vectors_[start : start + _BLOCK])
                self.nearest_similarity_[start : start + len(block)] = (
                    block @ queries.T
                ).max(axis=1)

    def relevance(self) -> np.ndarray:
        """``(N,)`` float64 predicted P(interesting) of every source."""
        c = self.prior_weight
        return (self.label_sum_ + c * self.prior_) / (self.weight_sum_ + c)

    def uncertainty(self) -> np.ndarray:
        """``(N,)`` float32 cosine distance to the nearest labelled source, in [0, 1].

        1 where no label is closer than orthogonal (and everywhere without
        labels).
        """
        return np.clip(1.0 - self.nearest_similarity_, 0.0, 1.0)

    def labelled_rows(self) -> np.ndarray:
        """Sorted rows of the labelled sources, ``(L,)`` int64."""
        return np.sort(
            np.fromiter(self.labels_, dtype=np.int64, count=len(self.labels_))
        )
