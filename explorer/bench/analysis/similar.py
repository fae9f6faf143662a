"""``similar`` section: per-query latency and recall@100 of the auto index."""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

from explorer.bench.analysis.data import sphere_mixture, timed


def bench_similar(args: argparse.Namespace) -> dict[str, Any]:
    """Per-query latency and recall@100 of the auto index vs exact search."""
    import faiss

    from explorer.analysis.neighbors import SimilarityIndex

    x, _ = sphere_mixture(args.similar_n, args.dim, seed=args.seed + 2)
    ids = np.arange(len(x))
    index, build_s = timed(SimilarityIndex.build, x, ids)
    queries = np.random.default_rng(args.seed).choice(
        len(x), args.queries, replace=False
    )
    latencies, found = [], []
    for q in queries:
        res, dt = timed(index.similar, [q], 100)
        latencies.append(dt)
        found.append(res["id"].to_numpy())
    exact = faiss.IndexFlatIP(args.dim)
    exact.add(index.vectors)
    (_, truth), exact_s = timed(exact.search, index.vectors[queries], 101)
    exact_per_query = exact_s / len(queries)
    recall = np.mean(
        [
            len(set(f) & (set(t) - {q})) / 100
            for f, t, q in zip(found, truth, queries, strict=True)
        ]
    )
    ms = 1000 * np.asarray(latencies)
    return {
        "n": args.similar_n,
        "dim": args.dim,
        "index": index.index_info,
        "build_s": build_s,
        "query_ms": {
            "median": float(np.median(ms)),
            "mean": float(ms.mean()),
            "p95": float(np.percentile(ms, 95)),
        },
        "exact_query_ms_batched": 1000 * exact_per_query,
        "recall_at_100": float(recall),
        "targets": {
            "median_ms<=20": float(np.median(ms)) <= 20,
            "recall>=0.95": recall >= 0.95,
        },
    }
