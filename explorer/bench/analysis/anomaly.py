"""``anomaly`` section: k-NN graph + density scores at scale, graph recall@10."""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

from explorer.bench.analysis.data import machine_load, sphere_mixture, timed

#: Workload of the isolation-forest timing: the default's embedding detector.
IFOREST_N = 100_000
IFOREST_DIM = 256


def bench_anomaly(args: argparse.Namespace) -> dict[str, Any]:
    """k-NN graph + density scores of ``--anomaly-n`` sources, graph recall@10."""
    from explorer.analysis import anomaly
    from explorer.analysis.knn import graph_plan
    from explorer.analysis.neighbors import SimilarityIndex

    k = anomaly.K_NEIGHBOURS
    x, _ = sphere_mixture(args.anomaly_n, args.dim, seed=args.seed + 3)
    index, build_s = timed(SimilarityIndex.build, x, np.arange(len(x)))
    (knn_rows, knn_d), graph_s = timed(index.knn_graph, k)
    table, score_s = timed(anomaly.score_table, knn_rows, knn_d)
    recall, recall_s = timed(
        graph_recall, index.vectors, knn_rows, args.recall_queries, args.seed
    )
    return {
        "n": args.anomaly_n,
        "dim": args.dim,
        "index": index.index_info,
        "index_build_s": build_s,
        "knn_graph": graph_plan(args.anomaly_n, k),
        "knn_graph_s": graph_s,
        "scores_s": score_s,
        "total_s": build_s + graph_s + score_s,
        "knn_graph_recall_at_10": recall,
        "recall_queries": min(args.recall_queries, args.anomaly_n),
        "recall_s": recall_s,
        "method": table.attrs["anomaly_method"],
        "isolation_forest": isolation_forest_cost(
            getattr(args, "iforest_n", IFOREST_N),
            getattr(args, "iforest_dim", IFOREST_DIM),
            args.seed,
        ),
        "note": "embedding scores only (knn_distance, lof): no cutouts here; "
        "recall@10 of the graph rows of random sources vs exact IndexFlatIP",
        "targets": {
            "recall>=0.9": recall >= 0.9,
            "total<=180s": build_s + graph_s + score_s <= 180,
        },
    }


def graph_recall(
    vectors: np.ndarray, rows: np.ndarray, n_queries: int, seed: int = 0
) -> float:
    """Recall@k of k-NN graph ``rows`` on random sources vs exact search.

    Parameters
    ----------
    vectors : ndarray
        ``(N, D)`` float32 unit vectors the graph was built on.
    rows : ndarray
        ``(N, k)`` neighbour row numbers (itself excluded).
    n_queries : int
        Sources checked (drawn without replacement, at most N).
    seed : int
        Seed of the draw.

    Returns
    -------
    float
        Mean share of each checked source's exact ``k`` nearest neighbours
        (itself excluded; exact ``IndexFlatIP``) found in its graph row.
    """
    import faiss

    n, k = rows.shape
    probe = np.random.default_rng(seed).choice(n, min(n_queries, n), replace=False)
    exact = faiss.IndexFlatIP(vectors.shape[1])
    exact.add(np.ascontiguousarray(vectors, dtype=np.float32))
    _, truth = exact.search(np.ascontiguousarray(vectors[probe]), k + 1)
    hits = [
        len(set(rows[p].tolist()) & (set(t.tolist()) - {p})) / k
        for p, t in zip(probe, truth, strict=True)
    ]
    return float(np.mean(hits))


def isolation_forest_cost(n: int, dim: int, seed: int = 0) -> dict[str, Any]:
    """Seconds of the default's isolation forest on ``n`` synthetic ``dim``-d rows.

    Parameters
    ----------
    n, dim : int
        Rows and dimension of the clustered unit vectors
        (:func:`explorer.bench.analysis.data.sphere_mixture`).
    seed : int
        Seed of the vectors and the forest.

    Returns
    -------
    dict
        Workload, fit + chunked scoring seconds, and the cost projected to
        1 M rows (the fit is on at most ``FIT_MAX`` rows, so only scoring grows
        with N: linear in N).
    """
    from explorer.analysis import anomaly_detectors as det

    x, _ = sphere_mixture(n, dim, seed=seed + 5)
    before = machine_load()
    _, seconds = timed(det.isolation_forest_score, x, seed=seed)
    return {
        "workload": "synthetic clustered unit vectors (sphere_mixture)",
        "n": int(n),
        "dim": int(dim),
        "fit_rows": int(min(n, det.FIT_MAX)),
        "trees": det.N_TREES,
        "score_chunk": det.SCORE_CHUNK,
        "n_jobs": 1,
        "seconds": round(seconds, 2),
        "projected_1m_s": round(seconds * 1_000_000 / n, 1),
        "machine_before": before,
        "machine_after": machine_load(),
    }
