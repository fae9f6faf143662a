"""``rare_kinds`` section: share of rare kinds in the top 1 % by each anomaly score."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np


def _demo_store(args: argparse.Namespace) -> tuple[Any, np.ndarray, str]:
    """The store and embedding used for rare_kinds, and what that embedding is."""
    from explorer.store import Store

    if args.demo_store:
        store = Store.open(args.demo_store)
        version = store.current_version
        if version is not None:
            return store, np.asarray(store.embeddings(version)), f"version {version}"
    else:
        import tempfile

        from explorer.ingest.synthetic import iter_survey

        name = f"latentsky-bench-demo-{args.demo_n}-{args.demo_size}-{args.seed}"
        root = Path(tempfile.gettempdir()) / name  # cached between runs
        if root.exists():
            store = Store.open(root)
        else:
            with Store.build(root, ["g", "r", "z"], args.demo_size) as builder:
                for cube, cat in iter_survey(
                    args.demo_n, size=args.demo_size, seed=args.seed, batch=1024
                ):
                    builder.append(cube, cat)
            store = builder.store
    from explorer.analysis.features import pixel_pca

    emb = pixel_pca(store, 64, "standardise", progress=False)
    return store, emb, "stand-in: pixel PCA-64 (per-pixel standardised)"


def bench_rare_kinds(args: argparse.Namespace) -> dict[str, Any]:
    """Share of rare kinds in the top 1 % by each anomaly score."""
    from explorer.analysis import anomaly
    from explorer.analysis.features import pixel_pca
    from explorer.analysis.neighbors import SimilarityIndex
    from explorer.ingest.synthetic import RARE_KINDS

    store, emb, what = _demo_store(args)
    labels = store.catalog["_truth_label"].astype(str).to_numpy()
    rare = np.isin(labels, sorted(RARE_KINDS))
    pixel = pixel_pca(store, 64, "asinh", progress=False)
    knn = SimilarityIndex.build(emb, store.ids).knn_graph(anomaly.K_NEIGHBOURS)
    table = anomaly.score_table(*knn, pixel_features=pixel)
    scores = {c: table[c].to_numpy() for c in anomaly.SCORES}
    scores["isolation_forest_embedding"] = anomaly.isolation_forest_score(emb)
    scores["isolation_forest_pixel_pca"] = anomaly.isolation_forest_score(pixel)
    shares = {name: anomaly.top_share(s, rare, 0.01) for name, s in scores.items()}
    per_kind = {
        name: {
            k: float(
                np.mean(labels[np.argsort(-s, kind="stable")[: len(s) // 100]] == k)
            )
            for k in sorted(RARE_KINDS)
        }
        for name, s in scores.items()
    }
    default = table.attrs["anomaly_method"]
    others = [v for k, v in shares.items() if k.startswith("isolation_forest")]
    return {
        "n": store.n_sources,
        "embedding": what,
        "base_rate": float(rare.mean()),
        "top1pct_share": shares,
        "top1pct_share_by_kind": per_kind,
        "default": default,
        "targets": {
            "default>=10x_base": shares[default] >= 10 * rare.mean(),
            "default_above_isolation_forests": shares[default] > max(others),
        },
    }
