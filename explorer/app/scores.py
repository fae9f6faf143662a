"""Selection metrics for the live metrics panel (pure numpy, runs in a thread).

Both comparisons the panel shows are computed on the version's embeddings:

* **selection vs rest** -- Davies-Bouldin and silhouette with labels 1/0; the
  rest of the survey is sampled down to ``max_rest`` rows (seeded) so a
  1 000 000-source store costs the same as a small one;
* **auto clusters within the selection** -- the same two metrics on the
  selection's ``cluster`` labels (noise ``-1`` left out by the metrics);

plus the TPCF score of the selection with its ``xi(r)`` curve.
"""

from __future__ import annotations

import time

import numpy as np

from explorer.analysis import metrics

#: at most this many selected / unselected rows enter the cluster metrics
MAX_SELECTED = 20_000
MAX_REST = 20_000
#: silhouette sample (O(n^2)): 2000 points keep it near 0.1 s, its sampling
#: error (~0.01) is far below the differences a user acts on
SILHOUETTE_SAMPLE = 2000


def _sample(rows: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    if len(rows) <= k:
        return rows
    return np.sort(rng.choice(rows, k, replace=False))


def selection_scores(
    embeddings: np.ndarray,
    rows: np.ndarray,
    *,
    clusters: np.ndarray | None = None,
    ids: np.ndarray | None = None,
    max_selected: int = MAX_SELECTED,
    max_rest: int = MAX_REST,
    seed: int = 0,
) -> dict[str, object]:
    """Metrics of one selection.

    Parameters
    ----------
    embeddings : ndarray
        ``(N, D)`` float32 embeddings (may be memory-mapped).
    rows : ndarray
        Rows of the selected sources.
    clusters : ndarray, optional
        ``(N,)`` int auto-cluster labels (``-1`` noise).
    ids : ndarray, optional
        ``(N,)`` source ids (to name bad rows in errors).
    max_selected, max_rest : int
        Sample sizes for the cluster metrics (seeded).
    seed : int
        Seed of the samples.

    Returns
    -------
    dict
        ``vs_rest`` and ``within`` each ``{"davies_bouldin", "silhouette"}``
        (:class:`explorer.analysis.metrics.ClusterScore`), ``tpcf``
        (:class:`explorer.analysis.metrics.TPCFResult`), ``n`` (selection size),
        ``sampled`` (bool) and ``seconds``.
    """
    start = time.perf_counter()
    rng = np.random.default_rng(seed)
    n_total = len(embeddings)
    rows = np.unique(np.asarray(rows, dtype=np.int64))
    mask = np.ones(n_total, dtype=bool)
    mask[rows] = False
    rest = np.flatnonzero(mask)
    sel = _sample(rows, max_selected, rng)
    rest_sample = _sample(rest, max_rest, rng)
    sampled = len(sel) < len(rows) or len(rest_sample) < len(rest)
    both = np.concatenate([sel, rest_sample])
    order = np.argsort(both)
    both = both[order]
    labels = np.concatenate(
        [np.ones(len(sel), np.int32), np.zeros(len(rest_sample), np.int32)]
    )[order]
    X = np.asarray(embeddings[both], dtype=np.float32)
    both_ids = None if ids is None else np.asarray(ids)[both]
    vs_rest = {
        "davies_bouldin": metrics.davies_bouldin(X, labels, ids=both_ids),
        "silhouette": metrics.silhouette(
            X, labels, ids=both_ids, sample_size=SILHOUETTE_SAMPLE
        ),
    }
    X_sel = np.asarray(embeddings[sel], dtype=np.float32)
    sel_ids = None if ids is None else np.asarray(ids)[sel]
    if clusters is not None:
        within_labels = np.asarray(clusters)[sel]
        within = {
            "davies_bouldin": metrics.davies_bouldin(X_sel, within_labels, ids=sel_ids),
            "silhouette": metrics.silhouette(
                X_sel, within_labels, ids=sel_ids, sample_size=SILHOUETTE_SAMPLE
            ),
        }
    else:
        within = None
    tpcf = metrics.tpcf_score(X_sel, ids=sel_ids)
    return {
        "n": int(len(rows)),
        "vs_rest": vs_rest,
        "within": within,
        "tpcf": tpcf,
        "sampled": bool(sampled),
        "seconds": time.perf_counter() - start,
    }
