"""Density-based anomaly scores from a k-NN graph (never O(N^2)).

Scores (higher = more anomalous):

* ``knn_distance`` -- mean cosine distance of a source's embedding to its
  ``k`` nearest neighbours (the FAISS graph of :mod:`explorer.analysis.knn`);
* ``lof`` -- a local-outlier-factor ratio on the same graph: the mean local
  reachability density of the neighbours over the source's own;
* ``pixel_knn_distance`` -- mean Euclidean distance to the ``k`` nearest
  neighbours in pixel-PCA space (:func:`explorer.analysis.features.pixel_pca`);
* ``combined`` -- the rank average of ``knn_distance`` and
  ``pixel_knn_distance``;
* ``isolation_forest`` -- scikit-learn's IsolationForest (the comparison
  method of Astronomaly) on the embedding, fitted on <= 100 000 rows and
  scored in chunks (:mod:`explorer.analysis.anomaly_detectors`).

Why pixel space is measured at all: the invariances the SSL encoder learns
(rotation, noise, flux) can wash out exactly the oddities a user hunts
(satellite trails, cosmic rays, rings, arcs).

* ``pixel_residual`` -- what pixel PCA-64 cannot reconstruct
  (:func:`explorer.analysis.features.pca_residual`);
* ``artefact_score`` -- the artefact detectors of
  :mod:`explorer.analysis.artefacts` (0..1, >= 0.5 = flagged);
* ``max_rank`` -- the largest rank percentile of :data:`MAX_RANK_OF`
  (embedding density, pixel density, artefact score); the default when no
  embedding is passed;
* ``science_score`` -- the science family: mean rank percentile of
  ``isolation_forest`` and ``artefact_score`` (below the flag threshold the
  latter measures line-like structure: arcs, mergers, rings);
* ``family_max`` -- the default: ``max(pct(science_score),
  pct(artefact_score))``, so each family holds about half of the top of the
  queue and artefacts cannot crowd the science kinds out;
* ``science_anomaly`` -- the default with flagged artefacts down-weighted.

Evidence (``latentsky bench analysis --sections rare_kinds --embedding
encoder --demo-n 4000 --demo-size 64 --second-size 64``;
``benchmarks/results/analysis-anomaly-2026-12-01.json`` key
``rare_kinds_default_v2``): 4 000 sources per preset, 64 px, 5.2 % rare (8
kinds, 26 each), embedding of the shipped demo encoder; chosen on ``demo``
(seed 0) by the best worst-kind recall in the top 5 % among scores with
>= 75 % rare in the top 1 %, reported unchanged on ``second`` (seed 1).
Rare share of the top 1 % / mean / worst per-kind recall in the top 5 %:

=========================================  ==================  ==================
score                                      demo                second
=========================================  ==================  ==================
``family_max`` (the default)               1.00 / 0.69 / 0.31  1.00 / 0.55 / 0.04
``max_rank`` (the previous default)        0.93 / 0.52 / 0.00  0.97 / 0.56 / 0.04
``isolation_forest`` alone                 0.88 / 0.48 / 0.04  0.97 / 0.38 / 0.00
``knn_distance``                           0.65 / 0.27 / 0.00  0.70 / 0.33 / 0.00
=========================================  ==================  ==================

Per kind on demo (top-5 % recall) the default keeps the artefacts (bad
column 1.00, bleed 1.00, cosmic ray 0.96, trail 0.96) and finds rings 0.50,
lens arcs 0.42, dust lanes 0.35, mergers 0.31 (previous default: 0.15, 0,
0.23, 0.15). On second it does not carry over for the science kinds (rings
0.08, lens arcs 0.04, mergers 0.12, dust lanes 0.38): the target (every
kind >= 0.5) is met on neither survey.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from explorer.analysis.anomaly_detectors import (
    add_family_scores,
    family_max,
    isolation_forest_score,
    science_score,
)
from explorer.analysis.artefacts import FLAG_COLUMNS
from explorer.analysis.knn import drop_self
from explorer.errors import DataError

log = logging.getLogger(__name__)

#: Neighbours per source for the density scores.
K_NEIGHBOURS = 10

#: The ``anomaly_score`` written to map.parquet: the rank combination with
#: the best worst-kind recall in the top 5 % on the demo preset (trained
#: encoder) among those with >= 75 % rare kinds in the top 1 % (module
#: docstring). Without an embedding it falls back to ``max_rank``.
DEFAULT_SCORE = "family_max"

SCORES = (
    "knn_distance",
    "lof",
    "pixel_knn_distance",
    "combined",
    "max_rank",
    "family_max",
)
__all__ = [
    "add_family_scores",
    "family_max",
    "isolation_forest_score",
    "science_score",
]
#: Scores whose rank percentiles ``max_rank`` takes the largest of: one per
#: way of being odd (embedding density, pixel-space density, what an
#: artefact detector recognises); chosen on the demo preset (module docstring).
MAX_RANK_OF = ("knn_distance", "pixel_knn_distance", "artefact_score")
#: How much ``science_anomaly`` keeps of a flagged artefact's anomaly.
ARTEFACT_WEIGHT = 0.1


def knn_distance_score(distances: np.ndarray) -> np.ndarray:
    """Mean distance to the ``k`` nearest neighbours, ``(N,)`` float32.

    Parameters
    ----------
    distances : ndarray
        ``(N, k)`` neighbour distances (self excluded); NaN/negative entries
        (missing neighbours) are ignored.
    """
    d = np.asarray(distances, dtype=np.float64)
    d = np.where(d >= 0, d, np.nan)
    with np.errstate(invalid="ignore"):
        out = np.nanmean(d, axis=1) if np.isnan(d).any() else d.mean(axis=1)
    return np.nan_to_num(
        out, nan=np.nanmax(out) if np.isfinite(out).any() else 0.0
    ).astype(np.float32)


def lof_score(indices: np.ndarray, distances: np.ndarray) -> np.ndarray:
    """Local outlier factor from a k-NN graph, ``(N,)`` float32.

    ``reach(p, o) = max(k_dist(o), d(p, o))``, ``lrd(p) = 1 / mean_o reach(p, o)``
    and ``LOF(p) = mean_o lrd(o) / lrd(p)`` over the ``k`` neighbours ``o`` of
    ``p`` (Breunig et al. 2000); about 1 inside a cluster, larger outside.

    Parameters
    ----------
    indices : ndarray
        ``(N, k)`` neighbour rows (self excluded; ``-1`` = missing).
    distances : ndarray
        ``(N, k)`` matching distances, ascending per row.
    """
    idx = np.asarray(indices)
    d = np.asarray(distances, dtype=np.float64)
    valid = idx >= 0
    safe = np.where(valid, idx, 0)
    k_dist = np.where(valid, d, -np.inf).max(axis=1)
    reach = np.maximum(k_dist[safe], d)
    mean_reach = np.where(valid, reach, 0).sum(1) / np.maximum(valid.sum(1), 1)
    lrd = 1.0 / np.maximum(mean_reach, 1e-12)
    neighbour_lrd = np.where(valid, lrd[safe], 0).sum(1) / np.maximum(valid.sum(1), 1)
    return (neighbour_lrd / lrd).astype(np.float32)


def euclidean_index(features: np.ndarray, *, exact_max: int | None = None) -> Any:
    """The FAISS index :func:`euclidean_knn` searches, holding every row.

    Exact (``IndexFlatL2``) up to ``exact_max`` rows (default
    :data:`explorer.analysis.knn.GRAPH_EXACT_MAX`), else an IVF trained on a
    seeded sample, so that every process builds the same index.

    Parameters
    ----------
    features : ndarray
        ``(N, D)`` float32, C-contiguous.
    exact_max : int, optional
        Largest ``N`` searched exactly.

    Returns
    -------
    faiss.Index
    """
    import faiss

    from explorer.analysis.knn import GRAPH_EXACT_MAX, graph_probe

    n, dim = features.shape
    if n > (GRAPH_EXACT_MAX if exact_max is None else exact_max):
        nlist = int(np.sqrt(n))
        index = faiss.IndexIVFFlat(faiss.IndexFlatL2(dim), dim, nlist)
        sample = np.random.default_rng(0).choice(n, min(n, 40 * nlist), replace=False)
        index.train(features[np.sort(sample)])
        index.nprobe = graph_probe(nlist)
    else:
        index = faiss.IndexFlatL2(dim)
    index.add(features)
    return index


def euclidean_knn(
    features: np.ndarray, k: int = K_NEIGHBOURS, *, exact_max: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """``k`` nearest neighbours in Euclidean space (self excluded), via FAISS.

    Exact (``IndexFlatL2``) up to ``exact_max`` rows (default
    :data:`explorer.analysis.knn.GRAPH_EXACT_MAX`, the embedding graph's own
    switch), IVF above with a probe that grows with the square root of the
    number of lists (:func:`explorer.analysis.knn.graph_probe`): an exact
    search costs N², which made this the slowest analysis step at 100 000
    sources (277 s, ``bench scale``).

    Returns
    -------
    (indices (N, k) int64, distances (N, k) float32)
    """
    X = np.ascontiguousarray(features, dtype=np.float32)
    n = len(X)
    index = euclidean_index(X, exact_max=exact_max)
    sq, rows = index.search(X, min(k + 1, n))
    rows, sq = drop_self(rows, sq, np.arange(n)[:, None])
    return rows, np.sqrt(np.maximum(sq, 0)).astype(np.float32)


def rank_average(*scores: np.ndarray) -> np.ndarray:
    """Mean of the rank percentiles (0 = least, 1 = most anomalous) of ``scores``."""
    if not scores:
        raise DataError("rank_average needs at least one score")
    ranks = [
        pd.Series(np.asarray(s)).rank(method="average", pct=True).to_numpy()
        for s in scores
    ]
    return np.mean(ranks, axis=0).astype(np.float32)


def rank_max(*scores: np.ndarray) -> np.ndarray:
    """Largest rank percentile (0..1) of ``scores`` per source, ``(N,)`` float32.

    Calibrated ranks make scores of any unit comparable; the maximum keeps a
    source that is extreme by any one of them (a mean dilutes it).
    """
    if not scores:
        raise DataError("rank_max needs at least one score")
    ranks = [
        pd.Series(np.asarray(s)).rank(method="average", pct=True).to_numpy()
        for s in scores
    ]
    return np.max(ranks, axis=0).astype(np.float32)


def science_anomaly(anomaly: np.ndarray, artefact_score: np.ndarray) -> np.ndarray:
    """The anomaly rank percentile with artefacts down-weighted, ``(N,)`` float32.

    ``pct(anomaly) x (1 - (1 - w) x flagged)``, ``flagged`` = artefact score
    >= 0.5 (some detector fired), ``w`` = :data:`ARTEFACT_WEIGHT`.
    """
    pct = pd.Series(np.asarray(anomaly)).rank(method="average", pct=True).to_numpy()
    flagged = np.asarray(artefact_score) >= 0.5
    return (pct * np.where(flagged, ARTEFACT_WEIGHT, 1.0)).astype(np.float32)


def anomaly_rank(score: np.ndarray) -> np.ndarray:
    """Rank of each source, ``1`` = most anomalous, ``(N,)`` int32 (ties by row)."""
    order = np.argsort(-np.asarray(score, dtype=np.float64), kind="stable")
    ranks = np.empty(len(order), dtype=np.int32)
    ranks[order] = np.arange(1, len(order) + 1, dtype=np.int32)
    return ranks


def score_table(
    indices: np.ndarray,
    distances: np.ndarray,
    *,
    pixel_features: np.ndarray | None = None,
    pixel_residual: np.ndarray | None = None,
    artefacts: pd.DataFrame | None = None,
    embedding: np.ndarray | None = None,
    k: int = K_NEIGHBOURS,
    default: str = DEFAULT_SCORE,
    seed: int = 0,
) -> pd.DataFrame:
    """All anomaly columns of map.parquet from the embedding k-NN graph.

    Parameters
    ----------
    indices, distances : ndarray
        ``(N, >=k)`` embedding k-NN graph (self excluded), cosine distances.
    pixel_features : ndarray, optional
        ``(N, F)`` pixel-PCA features; without them a pixel-based ``default``
        falls back to ``knn_distance``.
    pixel_residual : ndarray, optional
        ``(N,)`` pixel-PCA reconstruction residual
        (:func:`explorer.analysis.features.pca_residual`).
    artefacts : DataFrame, optional
        ``N`` rows of :func:`explorer.analysis.artefacts.artefact_flags`; its
        flag columns and ``artefact_score`` are copied into the table.
    embedding : ndarray, optional
        ``(N, D)`` embedding the graph was built on; with it and the
        artefacts, ``isolation_forest``, ``science_score`` and the default
        ``family_max`` (:mod:`explorer.analysis.anomaly_detectors`).
    k : int
        Neighbours used.
    default : str
        Which score becomes ``anomaly_score``; a missing ``family_max`` falls
        back to ``max_rank``, a missing ``max_rank`` to ``knn_distance``.
    seed : int
        Seed of the isolation forest.

    Returns
    -------
    DataFrame
        ``anomaly_score``, ``anomaly_rank``, ``knn_distance``, ``density``
        (inverse of ``knn_distance``), ``lof`` and, with pixel features,
        ``pixel_knn_distance`` and ``combined``; with the residual and the
        artefacts, ``pixel_residual``, the flags, ``artefact_score``,
        ``max_rank`` and ``science_anomaly``; with the embedding too,
        ``isolation_forest``, ``science_score`` and ``family_max`` -- float32
        except the int32 rank and the boolean flags.

    Raises
    ------
    DataError
        On an unknown ``default`` or an embedding of the wrong length.
    """
    if default not in SCORES:
        msg = f"unknown anomaly score {default!r} (use one of {SCORES})"
        raise DataError(msg)
    idx, dist = np.asarray(indices)[:, :k], np.asarray(distances)[:, :k]
    knn = knn_distance_score(dist)
    table = pd.DataFrame(
        {
            "knn_distance": knn,
            "density": (1.0 / np.maximum(knn, 1e-6)).astype(np.float32),
            "lof": lof_score(idx, dist),
        }
    )
    if pixel_features is not None:
        _, pix_d = euclidean_knn(pixel_features, k)
        table["pixel_knn_distance"] = knn_distance_score(pix_d)
        table["combined"] = rank_average(
            table["knn_distance"], table["pixel_knn_distance"]
        )
    if pixel_residual is not None:
        table["pixel_residual"] = np.asarray(pixel_residual, dtype=np.float32)
    if artefacts is not None:
        for column in FLAG_COLUMNS:
            table[column] = artefacts[column].to_numpy()
    if set(MAX_RANK_OF) <= set(table):
        table["max_rank"] = rank_max(*(table[c] for c in MAX_RANK_OF))
    add_family_scores(table, embedding, seed)
    if default == "family_max" and default not in table and "max_rank" in table:
        log.warning("no embedding: anomaly_score falls back to max_rank")
        default = "max_rank"
    if default not in table:
        log.warning("no pixel scores: anomaly_score falls back to knn_distance")
        default = "knn_distance"
    score = table[default].to_numpy(dtype=np.float32)
    if "artefact_score" in table:
        table["science_anomaly"] = science_anomaly(score, table["artefact_score"])
    table.insert(0, "anomaly_rank", anomaly_rank(score))
    table.insert(0, "anomaly_score", score)
    table.attrs["anomaly_method"] = default
    return table


def top_share(
    score: np.ndarray, is_target: np.ndarray, fraction: float = 0.01
) -> float:
    """Share of ``is_target`` sources among the top ``fraction`` by ``score``."""
    n_top = max(int(round(fraction * len(score))), 1)
    top = np.argsort(-np.asarray(score, dtype=np.float64), kind="stable")[:n_top]
    return float(np.mean(np.asarray(is_target)[top]))
