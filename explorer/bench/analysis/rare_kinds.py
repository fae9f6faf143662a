"""``rare_kinds`` section: every anomaly score per rare kind, and the artefact flags.

For each preset (``demo``, where the default is chosen, and ``second``, where
it is confirmed, with its own seed and cutout size) the survey is written to a
store and scanned the way the pipeline scans it (pixel PCA, its residual and
the artefact detectors, shard by shard; the per-source cost is recorded).
The embedding is ``--embedding``: the stand-in per-pixel standardised pixel
PCA-64, L2-normalised (default, no trained encoder assumed), or ``encoder``,
the trained encoder of ``--checkpoint`` (default the shipped demo encoder:
what ``latentsky demo`` gives a user; it needs 64 px cutouts on both
presets) -- :mod:`explorer.bench.analysis.embedding`.

Per score: share of rare kinds among the top 1 %, and the recall of each
rare kind in the top 1 % and 5 %. Targets (issue 13): >= 75 % rare in the
top 1 %, every rare kind >= 50 % recalled in the top 5 %, on both presets.
Per artefact flag: precision and recall against its kind.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np
import pandas as pd

#: flag column -> the artefact kind it is meant to find
FLAG_KIND = {
    "cosmic_ray_flag": "cosmic_ray",
    "trail_flag": "satellite_trail",
    "bad_column_flag": "bad_column",
    "saturated_flag": "bleed_trail",
}


def candidate_scores(
    emb: np.ndarray,
    pixel: np.ndarray,
    residual: np.ndarray,
    flags: pd.DataFrame,
    ids: np.ndarray,
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """Every candidate anomaly score (higher = more anomalous), ``name -> (N,)``."""
    from explorer.analysis import anomaly
    from explorer.analysis.neighbors import SimilarityIndex

    knn = SimilarityIndex.build(emb, ids, seed=seed).knn_graph(anomaly.K_NEIGHBOURS)
    table = anomaly.score_table(
        *knn,
        pixel_features=pixel,
        pixel_residual=residual,
        artefacts=flags,
        embedding=emb,
        seed=seed,
    )
    scores = {
        "knn_distance": table["knn_distance"].to_numpy(),
        "lof": table["lof"].to_numpy(),
        "isolation_forest_embedding": table["isolation_forest"].to_numpy(),
        "pixel_knn_distance": table["pixel_knn_distance"].to_numpy(),
        "isolation_forest_pixel_pca": anomaly.isolation_forest_score(pixel, seed=seed),
        "pixel_residual": residual,
        "artefact_score": table["artefact_score"].to_numpy(),
        "combined (rank mean knn, pixel_knn)": table["combined"].to_numpy(),
    }
    rank = anomaly.rank_max
    scores["rank mean knn, residual"] = anomaly.rank_average(
        scores["knn_distance"], residual
    )
    scores["rank max knn, residual"] = rank(scores["knn_distance"], residual)
    scores["rank max knn, residual, artefact"] = rank(
        scores["knn_distance"], residual, scores["artefact_score"]
    )
    scores["max_rank (old default: knn, pixel_knn, artefact)"] = table["max_rank"]
    scores["family_max (default: science = mean(if_emb, artefact), artefact)"] = table[
        "family_max"
    ]
    scores["family_max with science = mean(if_emb, pixel_knn)"] = anomaly.family_max(
        anomaly.rank_average(
            scores["isolation_forest_embedding"], table["pixel_knn_distance"]
        ),
        scores["artefact_score"],
    )
    scores["family_max with science = if_emb"] = anomaly.family_max(
        scores["isolation_forest_embedding"], scores["artefact_score"]
    )
    scores["rank max lof, residual, artefact"] = rank(
        scores["lof"], residual, scores["artefact_score"]
    )
    scores["rank max knn, lof, residual, artefact"] = rank(
        scores["knn_distance"], scores["lof"], residual, scores["artefact_score"]
    )
    return {k: np.asarray(v, dtype=np.float64) for k, v in scores.items()}


def per_kind(score: np.ndarray, labels: np.ndarray, kinds: list[str]) -> dict:
    """Pooled rare share in the top 1 % and each kind's recall in the top 1/5 %."""
    order = np.argsort(-score, kind="stable")
    n = len(score)
    top = {f: order[: max(int(round(f * n)), 1)] for f in (0.01, 0.05)}
    rare = np.isin(labels, kinds)
    recall = {
        f"recall_top{int(f * 100)}pct": {
            k: round(float(np.isin(np.flatnonzero(labels == k), rows).mean()), 3)
            for k in kinds
        }
        for f, rows in top.items()
    }
    return {"rare_share_top1pct": round(float(rare[top[0.01]].mean()), 3), **recall}


def flag_quality(flags: pd.DataFrame, labels: np.ndarray) -> dict[str, Any]:
    """Precision and recall of each flag against the kind it names."""
    out = {}
    for column, kind in FLAG_KIND.items():
        flagged = flags[column].to_numpy(dtype=bool)
        truth = labels == kind
        out[column] = {
            "kind": kind,
            "n_kind": int(truth.sum()),
            "n_flagged": int(flagged.sum()),
            "precision": round(float(truth[flagged].mean()), 3)
            if flagged.any()
            else None,
            "recall": round(float(flagged[truth].mean()), 3) if truth.any() else None,
            "flagged_by_kind": {
                str(k): int(v)
                for k, v in pd.Series(labels[flagged]).value_counts().items()
            },
        }
    return out


def _one_preset(
    preset: str,
    n: int,
    size: int,
    seed: int,
    embedding: str = "pca",
    checkpoint: str | None = None,
) -> dict[str, Any]:
    """The whole evaluation on one preset."""
    from explorer.analysis.features import pixel_scan
    from explorer.bench.analysis.data import preset_store
    from explorer.bench.analysis.embedding import preset_embedding
    from explorer.ingest.synthetic import RARE_KINDS

    store = preset_store(preset, n, size, seed)
    labels = store.catalog["_truth_label"].astype(str).to_numpy()
    start = time.perf_counter()
    pixel, residual, flags = pixel_scan(store, 64, "asinh", seed=seed, progress=False)
    scan_s = time.perf_counter() - start
    emb, emb_desc = preset_embedding(store, embedding, seed, checkpoint)
    scores = candidate_scores(emb, pixel, residual, flags, store.ids, seed)
    kinds = sorted(RARE_KINDS)
    table = {name: per_kind(s, labels, kinds) for name, s in scores.items()}
    return {
        "preset": preset,
        "n": int(n),
        "cutout_px": int(size),
        "seed": int(seed),
        "workload": "synthetic survey (explorer.ingest.synthetic) in a store",
        "embedding": emb_desc,
        "base_rate_rare": round(float(np.isin(labels, kinds).mean()), 4),
        "kind_counts": {k: int((labels == k).sum()) for k in kinds},
        "pixel_scan_s": round(scan_s, 2),
        "pixel_scan_ms_per_source": round(1e3 * scan_s / n, 3),
        "scores": table,
        "flags": flag_quality(flags, labels),
    }


def _targets(entry: dict[str, Any]) -> dict[str, bool]:
    """Issue 13's targets for one score's per-kind entry."""
    return {
        "rare_top1pct>=0.75": entry["rare_share_top1pct"] >= 0.75,
        "every_kind_top5pct>=0.5": min(entry["recall_top5pct"].values()) >= 0.5,
    }


def bench_rare_kinds(args: argparse.Namespace) -> dict[str, Any]:
    """Per-kind anomaly evaluation and flag quality on both presets."""
    from explorer.analysis.anomaly import DEFAULT_SCORE
    from explorer.bench.analysis.data import machine_load

    plan = {
        "demo": (args.demo_size, args.seed),
        "second": (args.second_size, args.second_seed),
    }
    chosen = [p.strip() for p in args.presets.split(",") if p.strip()]
    out: dict[str, Any] = {"machine": machine_load(), "default": DEFAULT_SCORE}
    for preset in chosen:
        size, seed = plan[preset]
        result = _one_preset(
            preset, args.demo_n, size, seed, args.embedding, args.checkpoint
        )
        for entry in result["scores"].values():
            entry["targets"] = _targets(entry)
        out[preset] = result
    if "demo" in out:
        # The choice on demo: among rank combinations with an embedding score
        # (a lone artefact detector finds science kinds only through its
        # sub-threshold structure, which it would flag as nothing), the best
        # worst-kind recall in the top 5 % (the target is on every kind),
        # then the best mean, of those with >= 75 % rare in the top 1 %.
        def mean_recall(entry: dict[str, Any]) -> float:
            return float(np.mean(list(entry["recall_top5pct"].values())))

        def worst_then_mean(entry: dict[str, Any]) -> tuple[float, float]:
            return min(entry["recall_top5pct"].values()), mean_recall(entry)

        combos = {
            k: v
            for k, v in out["demo"]["scores"].items()
            if k.startswith(("rank max", "max_rank", "family_max"))
        }
        good = {k: v for k, v in combos.items() if v["rare_share_top1pct"] >= 0.75}
        combos = good or combos  # none reaching 75 %: the best of them all
        out["best_on_demo"] = max(combos, key=lambda k: worst_then_mean(combos[k]))
        out["mean_kind_recall_top5pct"] = {
            p: {k: round(mean_recall(v), 3) for k, v in out[p]["scores"].items()}
            for p in chosen
        }
    out["machine_after"] = machine_load()
    return out
