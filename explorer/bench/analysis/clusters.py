"""``clusters`` section: auto clusters against the hidden labels, per preset.

The pipeline's clustering (:func:`explorer.analysis.clusters.auto_clusters`:
HDBSCAN on PCA-15 of the embedding) and a small grid around it (PCA-5/15/
the full embedding, ``min_cluster_size``, ``min_samples``), each scored by
ARI and NMI against ``_truth_label`` (noise counted as one more label, as the
UI shows it) and by the noise share, plus ARI on the clustered sources only.
Target (issue 13): < 30 % noise with ARI >= 0.5 on the demo survey. The
embedding is the stand-in of the ``rare_kinds`` section.
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

GRID_COMPONENTS = (5, 15, None)
GRID_MIN_CLUSTER = (15, 50)
GRID_MIN_SAMPLES = (1, None)


def cluster_scores(labels: np.ndarray, truth: np.ndarray) -> dict[str, Any]:
    """ARI, NMI, noise share and ARI on the clustered sources of ``labels``."""
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    kept = labels >= 0
    return {
        "n_clusters": int(labels.max(initial=-1) + 1),
        "noise_share": round(float(np.mean(~kept)), 3),
        "ari": round(float(adjusted_rand_score(truth, labels)), 3),
        "nmi": round(float(normalized_mutual_info_score(truth, labels)), 3),
        "ari_clustered_only": round(
            float(adjusted_rand_score(truth[kept], labels[kept])), 3
        )
        if kept.sum() > 1
        else None,
    }


def _grid(emb: np.ndarray, truth: np.ndarray) -> list[dict[str, Any]]:
    """HDBSCAN over the settings grid."""
    from sklearn.cluster import HDBSCAN

    from explorer.analysis.pca import pca_reduce

    rows = []
    for n_comp in GRID_COMPONENTS:
        X = emb if n_comp is None else pca_reduce(emb, n_comp).astype(np.float32)
        for size in GRID_MIN_CLUSTER:
            for samples in GRID_MIN_SAMPLES:
                model = HDBSCAN(min_cluster_size=size, min_samples=samples, copy=True)
                labels = model.fit(X).labels_
                rows.append(
                    {
                        "reduction": f"PCA-{n_comp}" if n_comp else "embedding",
                        "min_cluster_size": size,
                        "min_samples": samples,
                        **cluster_scores(labels, truth),
                    }
                )
    return rows


def bench_clusters(args: argparse.Namespace) -> dict[str, Any]:
    """Auto clusters vs hidden labels on each preset."""
    from explorer.analysis.clusters import auto_clusters
    from explorer.analysis.features import pixel_pca
    from explorer.bench.analysis.data import machine_load, preset_store

    plan = {
        "demo": (args.demo_size, args.seed),
        "second": (args.second_size, args.second_seed),
    }
    out: dict[str, Any] = {"machine": machine_load()}
    for preset in [p.strip() for p in args.presets.split(",") if p.strip()]:
        size, seed = plan[preset]
        store = preset_store(preset, args.demo_n, size, seed)
        truth = store.catalog["_truth_label"].astype(str).to_numpy()
        emb = pixel_pca(store, 64, "standardise", seed=seed, progress=False)
        emb = emb / np.maximum(np.linalg.norm(emb, axis=1, keepdims=True), 1e-12)
        grid = _grid(emb, truth)
        best = max(grid, key=lambda r: (r["noise_share"] < 0.3, r["ari"]))
        pipeline = cluster_scores(auto_clusters(emb, seed=seed), truth)
        out[preset] = {
            "n": int(args.demo_n),
            "cutout_px": int(size),
            "seed": int(seed),
            "embedding": "stand-in: pixel PCA-64 (per-pixel standardised)",
            "n_kinds": int(len(set(truth))),
            "pipeline_default": pipeline,
            "grid": grid,
            "best_in_grid": best,
            "targets": {
                "noise<0.3_and_ari>=0.5": pipeline["noise_share"] < 0.3
                and pipeline["ari"] >= 0.5
            },
        }
    return out
