"""Embedding detectors and the two-family rank combination of the default score.

The default ``anomaly_score`` (``family_max``) keeps two families apart so
that one cannot crowd the other out of the top of the queue:

* the **artefact** family: ``artefact_score`` of the detectors of
  :mod:`explorer.analysis.artefacts` (cosmic rays, trails, bad columns,
  bleeds);
* the **science** family: ``science_score``, the mean rank percentile of an
  isolation forest on the embedding (``isolation_forest``) and of the
  artefact score itself -- below the flag threshold it measures extended,
  line-like structure, which is what lens arcs, mergers and rings have.

``family_max = max(pct(science_score), pct(artefact_score))``: the largest of
two uniform rank percentiles, so the top ``2f`` of the combination holds
about the top ``f`` of each family.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from explorer.errors import DataError

#: Rows the isolation forest is fitted on at most (a seeded sample above).
FIT_MAX = 100_000
#: Rows scored per call, so scoring 1 M rows never holds more than this.
SCORE_CHUNK = 65_536
#: Trees of the isolation forest (chosen on the demo preset: 256 beat 100).
N_TREES = 256


def rank_pct(score: np.ndarray) -> np.ndarray:
    """Rank percentiles in ``(0, 1]`` (ties averaged), ``(N,)`` float64."""
    return pd.Series(np.asarray(score)).rank(method="average", pct=True).to_numpy()


def isolation_forest_score(
    features: np.ndarray,
    *,
    seed: int = 0,
    n_estimators: int = N_TREES,
    fit_max: int = FIT_MAX,
    chunk: int = SCORE_CHUNK,
) -> np.ndarray:
    """IsolationForest anomaly score (higher = more anomalous), ``(N,)`` float32.

    scikit-learn's IsolationForest (Liu et al. 2008, the comparison method of
    Astronomaly) run as its authors run it: ``max_samples=256`` per tree. It
    is fitted on at most ``fit_max`` rows (a seeded sample: each tree only
    draws 256 of them anyway) and scores the rows ``chunk`` at a time.

    Parameters
    ----------
    features : ndarray
        ``(N, D)`` feature matrix (e.g. the embedding).
    seed : int
        Seed of the sample and of the forest.
    n_estimators : int
        Trees.
    fit_max, chunk : int
        Most rows fitted on; rows scored per call.

    Returns
    -------
    ndarray
        ``(N,)`` float32 ``-score_samples`` (about 0.3--0.8).

    Raises
    ------
    DataError
        On an empty or non-2-D matrix, or non-finite values.
    """
    from sklearn.ensemble import IsolationForest

    X = np.asarray(features, dtype=np.float32)
    if X.ndim != 2 or len(X) == 0:
        msg = f"isolation forest features: expected (N, D) with N > 0, got {X.shape}"
        raise DataError(msg)
    if not np.isfinite(X).all():
        raise DataError("isolation forest features: non-finite values")
    rng = np.random.default_rng(seed)
    fit = X if len(X) <= fit_max else X[np.sort(rng.choice(len(X), fit_max, False))]
    forest = IsolationForest(n_estimators=n_estimators, random_state=seed, n_jobs=1)
    forest.fit(fit)
    out = np.empty(len(X), dtype=np.float32)
    for start in range(0, len(X), chunk):
        out[start : start + chunk] = -forest.score_samples(X[start : start + chunk])
    return out


def science_score(isolation: np.ndarray, artefact_score: np.ndarray) -> np.ndarray:
    """Mean rank percentile of the embedding forest and the artefact score.

    Parameters
    ----------
    isolation, artefact_score : ndarray
        ``(N,)`` :func:`isolation_forest_score` of the embedding and the
        artefact score (0..1).

    Returns
    -------
    ndarray
        ``(N,)`` float32 in ``(0, 1]``.
    """
    return ((rank_pct(isolation) + rank_pct(artefact_score)) / 2).astype(np.float32)


def family_max(science: np.ndarray, artefact_score: np.ndarray) -> np.ndarray:
    """The default score: ``max(pct(science), pct(artefact_score))``, ``(N,)``.

    Parameters
    ----------
    science, artefact_score : ndarray
        ``(N,)`` :func:`science_score` and the artefact score.

    Returns
    -------
    ndarray
        ``(N,)`` float32 in ``(0, 1]``, higher = more anomalous.

    Raises
    ------
    DataError
        If the two have different lengths.
    """
    if len(science) != len(artefact_score):
        msg = f"family_max: {len(science)} science vs {len(artefact_score)} artefact"
        raise DataError(msg)
    return np.maximum(rank_pct(science), rank_pct(artefact_score)).astype(np.float32)


def add_family_scores(
    table: pd.DataFrame, embedding: np.ndarray | None, seed: int = 0
) -> None:
    """Add ``isolation_forest``, ``science_score`` and ``family_max`` in place.

    Nothing is added without an embedding or without ``artefact_score`` in
    ``table`` (the default then falls back, see
    :func:`explorer.analysis.anomaly.score_table`).

    Parameters
    ----------
    table : DataFrame
        ``N`` rows of anomaly columns.
    embedding : ndarray or None
        ``(N, D)`` embedding.
    seed : int
        Seed of the isolation forest.

    Raises
    ------
    DataError
        If the embedding's rows do not match the table's.
    """
    if embedding is None or "artefact_score" not in table:
        return
    if len(embedding) != len(table):
        msg = f"embedding has {len(embedding)} rows, anomaly table {len(table)}"
        raise DataError(msg)
    art = table["artefact_score"].to_numpy()
    table["isolation_forest"] = isolation_forest_score(embedding, seed=seed)
    table["science_score"] = science_score(table["isolation_forest"], art)
    table["family_max"] = family_max(table["science_score"], art)
