"""The map's always-drawn glyphs: the top-ranked anomalies of a version.

A density image hides a lone outlier among millions of points at most zoom
levels (one point is one faint pixel, or none once it shares a pixel with a
dense blob). The few hundred most anomalous sources are therefore drawn as
outlined markers in screen pixels above the image, whatever the colour field,
at every zoom. This module picks them; the view draws them.
"""

from __future__ import annotations

import numpy as np

#: sources drawn as glyphs: the top 200 by the default anomaly score
TOP_ANOMALIES = 200
#: the score they are ranked by (the analysis' default anomaly score)
SCORE_COLUMN = "anomaly_score"


def top_anomaly_rows(
    scores: np.ndarray, ids: np.ndarray, k: int = TOP_ANOMALIES
) -> np.ndarray:
    """Rows of the ``k`` highest scores, highest first, ties by ascending id.

    Parameters
    ----------
    scores : ndarray
        ``(N,)`` anomaly scores (NaN: never chosen).
    ids : ndarray
        ``(N,)`` source ids (the tie-break).
    k : int
        Number of rows wanted (fewer if fewer scores are finite).

    Returns
    -------
    ndarray
        ``(min(k, finite),)`` int64 row numbers.

    Raises
    ------
    ValueError
        If ``scores`` and ``ids`` differ in length or ``k < 0``.
    """
    scores = np.asarray(scores)
    if scores.dtype.kind != "f":  # float32 columns stay float32: no copy of N
        scores = scores.astype(np.float64)
    ids = np.asarray(ids)
    if scores.shape != ids.shape or scores.ndim != 1:
        msg = f"anomaly scores {scores.shape} and ids {ids.shape} must be equal (N,)"
        raise ValueError(msg)
    if k < 0:
        msg = f"number of top anomalies must be >= 0, got {k}"
        raise ValueError(msg)
    k = min(int(k), scores.size - int(np.isnan(scores).sum()))
    if k == 0:
        return np.zeros(0, dtype=np.int64)
    negated = -scores
    # NaN sorts last, so the k smallest negated scores are the top k finite
    # ones; everything tied with the k-th is a candidate, so that the id
    # tie-break (not the partition's order) decides who is in
    kth = np.partition(negated, k - 1)[k - 1]
    candidates = np.flatnonzero(negated <= kth)  # NaN compares False
    order = np.lexsort((ids[candidates], negated[candidates]))
    return candidates[order[:k]].astype(np.int64)


def glyph_columns(
    x: np.ndarray, y: np.ndarray, ids: np.ndarray, scores: np.ndarray, rows
) -> dict[str, np.ndarray]:
    """Columns of the glyph source: position, id, score and rank of ``rows``.

    Parameters
    ----------
    x, y, ids, scores : ndarray
        ``(N,)`` map coordinates, ids and anomaly scores.
    rows : ndarray
        ``(k,)`` rows, most anomalous first (:func:`top_anomaly_rows`).

    Returns
    -------
    dict
        ``x``, ``y`` (float64), ``id`` (int64), ``score`` (float64) and
        ``rank`` (1 = most anomalous) of each glyph.
    """
    rows = np.asarray(rows, dtype=np.int64)
    return {
        "x": np.asarray(x, dtype=np.float64)[rows],
        "y": np.asarray(y, dtype=np.float64)[rows],
        "id": np.asarray(ids, dtype=np.int64)[rows],
        "score": np.asarray(scores, dtype=np.float64)[rows],
        "rank": np.arange(1, rows.size + 1, dtype=np.int64),
    }
