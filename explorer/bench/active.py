"""``latentsky bench active``: does the review queue learn what a user hunts?

A simulated astronomer (:mod:`explorer.active.simulate`) hunts one science
kind (``SCIENCE_KINDS``: ring, lens_arc, merger, dust_lane) in the synthetic
survey: that kind is *interesting*, ``ARTEFACT_KINDS`` are *artefact*,
everything else is *boring*. They look at the top of the queue one source at
a time and label it. Counted: interesting sources among the first
``--budget`` (100) viewed, for

- ``density``: the fixed ranking by map.parquet's ``anomaly_score`` (the
  pipeline's default score on this embedding, pixel scores and artefact
  detectors);
- ``active``: :class:`explorer.active.RelevanceModel`, re-ranked after every
  label;
- ``gp``: a Protege-style baseline (Lochner & Rudnick 2024): a Gaussian
  process regressor on PCA features of the embedding predicting the label,
  and an upper-confidence-bound acquisition ``mean + kappa * std``. It starts
  from the top ``GP_INIT`` of the anomaly ranking (Protege starts from a
  labelled random sample, which at a 100-view budget would only handicap it).

Embedding: pixel PCA-64 of asinh-stretched cutouts, L2-normalised (no
trained encoder is assumed; the shipped demo encoder is for 64 px cutouts).
The relevance settings are chosen on the ``demo`` preset (a small grid, mean
count over its seeds and targets) and reported unchanged on ``second`` (its
own survey settings and seeds). Counts are per target kind and seed, with
means and ``ratio_vs_density`` (active / density) per preset.

Timing (``timing``): retraining after one label at ``--timing-n`` (1 M)
sources of ``--timing-dim`` (64) dimensions: a clustered 128-d mixture
randomly projected to 64-d, unit rows, in a memory-mapped ``.npy`` like a
version's ``embeddings.npy``. Per label: the model update, the relevance of
every source and the top-100 queue; also an undo.
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np

from explorer.argtypes import positive_int
from explorer.bench import write_result
from explorer.bench.active_baselines import gp_views, science_views
from explorer.bench.active_timing import bench_timing

log = logging.getLogger(__name__)

#: Relevance settings tried on the demo preset.
GRID = {
    "k": (100, 300),
    "bandwidth": (0.2, 0.5),
    "prior_power": (5.0, 20.0),
    "prior_weight": (0.1, 1.0),
    "explore_every": (0,),
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags of the active benchmark (``--out`` is added by the dispatcher)."""
    parser.add_argument(
        "--n", type=positive_int, default=8000, help="sources per survey"
    )
    parser.add_argument(
        "--size", type=positive_int, default=32, help="cutout side in px"
    )
    parser.add_argument("--budget", type=positive_int, default=100, help="views")
    parser.add_argument("--demo-seeds", default="1,2", help="seeds of demo")
    parser.add_argument("--second-seeds", default="11,12", help="seeds of second")
    parser.add_argument(
        "--timing-n", type=positive_int, default=1_000_000, help="timing sources"
    )
    parser.add_argument(
        "--timing-dim", type=positive_int, default=64, help="timing dimension"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="tiny workload (600 sources, 20 views, one seed, one target, no grid, "
        "GP refitted every 10 labels) for tests",
    )


def _seeds(text: str) -> list[int]:
    try:
        return [int(s) for s in text.split(",") if s.strip()]
    except ValueError as exc:
        msg = f"seeds must be comma-separated integers, got {text!r}"
        raise argparse.ArgumentTypeError(msg) from exc


def survey(preset: str, n: int, size: int, seed: int) -> dict[str, np.ndarray]:
    """Embedding, anomaly score and true kinds of one synthetic survey.

    Returns
    -------
    dict
        ``vectors`` ``(n, 64)`` float32 unit rows, ``anomaly_score`` ``(n,)``,
        ``kinds`` ``(n,)`` str.
    """
    from explorer.analysis import anomaly
    from explorer.analysis.features import pixel_scan
    from explorer.analysis.neighbors import SimilarityIndex, normalise
    from explorer.bench.analysis.data import preset_store

    store = preset_store(preset, n, size, seed)
    pixel, residual, flags = pixel_scan(store, 64, "asinh", seed=seed, progress=False)
    vectors = normalise(pixel)
    graph = SimilarityIndex.build(vectors, store.ids, seed=seed).knn_graph(
        anomaly.K_NEIGHBOURS
    )
    table = anomaly.score_table(
        *graph, pixel_features=pixel, pixel_residual=residual, artefacts=flags
    )
    return {
        "vectors": vectors,
        "anomaly_score": table["anomaly_score"].to_numpy(dtype=np.float64),
        "artefact_score": table["artefact_score"].to_numpy(dtype=np.float64),
        "kinds": store.catalog["_truth_label"].astype(str).to_numpy(),
    }


def _counts(
    data: dict, targets, settings: dict, budget: int, gp: bool, refit_every: int = 1
) -> dict:
    """Interesting found by each method for each target kind of one survey."""
    from explorer.active import RelevanceModel
    from explorer.active.simulate import active_views, density_views, found, truth_tags
    from explorer.ingest.synthetic import ARTEFACT_KINDS

    model_settings = {k: v for k, v in settings.items() if k != "explore_every"}
    out = {}
    for target in targets:
        tags = truth_tags(data["kinds"], target, ARTEFACT_KINDS)
        model = RelevanceModel(**model_settings).fit(
            data["vectors"], data["anomaly_score"]
        )
        views = active_views(model, tags, budget, settings.get("explore_every", 0))
        row = {
            "n_target": int(np.sum(tags == "interesting")),
            "density": found(density_views(data["anomaly_score"], budget), tags),
            "density_science": found(science_views(data, budget), tags),
            "active": found(views, tags),
        }
        if gp:
            start = time.perf_counter()
            gp_rows = gp_views(
                data["vectors"], data["anomaly_score"], tags, budget, refit_every
            )
            row["gp"] = found(gp_rows, tags)
            row["gp_s"] = round(time.perf_counter() - start, 2)
        out[target] = row
    return out


def _choose_settings(surveys: list[dict], targets, budget: int) -> tuple[dict, list]:
    """The grid point with the most interesting found, mean over demo runs."""
    import itertools

    keys = list(GRID)
    table = []
    for values in itertools.product(*(GRID[k] for k in keys)):
        settings = dict(zip(keys, values, strict=True))
        counts = [
            c["active"]
            for data in surveys
            for c in _counts(data, targets, settings, budget, gp=False).values()
        ]
        table.append({**settings, "mean_active": round(float(np.mean(counts)), 3)})
    best = max(table, key=lambda row: row["mean_active"])
    return {k: best[k] for k in keys}, table


def _summary(runs: dict[str, dict], targets) -> dict[str, Any]:
    """Means per target kind and pooled, and the ratios, of one preset."""
    methods = ("density", "density_science", "active", "gp")
    per_kind = {
        t: {m: float(np.mean([r[t][m] for r in runs.values()])) for m in methods}
        for t in targets
    }
    pooled = {
        m: float(np.mean([r[t][m] for r in runs.values() for t in targets]))
        for m in methods
    }
    # the counts are small and a hunt either finds its first target or not:
    # how many (seed, target) hunts found any at all says how much luck is in
    # a mean
    hunts_with_a_find = {
        m: int(sum(r[t][m] > 0 for r in runs.values() for t in targets))
        for m in methods
    }

    def ratio(base: str) -> float | None:
        # None when the baseline found nothing: the ratio is unbounded
        return round(pooled["active"] / pooled[base], 3) if pooled[base] else None

    return {
        "per_target_kind_mean": per_kind,
        "mean": {m: round(v, 3) for m, v in pooled.items()},
        "ratio_vs_density": ratio("density"),
        "ratio_vs_density_science": ratio("density_science"),
        "ratio_vs_gp": ratio("gp"),
        "hunts": len(runs) * len(targets),
        "hunts_with_a_find": hunts_with_a_find,
        "runs": runs,
    }


def bench_hunt(args: argparse.Namespace) -> dict[str, Any]:
    """The simulated hunts on both presets (settings chosen on demo)."""
    from explorer.active.relevance import RelevanceModel
    from explorer.ingest.synthetic import SCIENCE_KINDS

    targets = sorted(SCIENCE_KINDS)
    demo_seeds, second_seeds = _seeds(args.demo_seeds), _seeds(args.second_seeds)
    if args.quick:
        targets, demo_seeds, second_seeds = (
            targets[:1],
            demo_seeds[:1],
            second_seeds[:1],
        )
    out: dict[str, Any] = {}
    surveys = {
        (p, s): survey(p, args.n, args.size, s)
        for p, seeds in (("demo", demo_seeds), ("second", second_seeds))
        for s in seeds
    }
    demo = [surveys[("demo", s)] for s in demo_seeds]
    if args.quick:
        defaults = RelevanceModel()
        settings = {k: getattr(defaults, k) for k in GRID if k != "explore_every"}
        settings["explore_every"] = 0
    else:
        settings, grid = _choose_settings(demo, targets, args.budget)
        out["grid_on_demo"] = grid
    out["settings"] = settings
    refit = 10 if args.quick else 1
    for preset, seeds in (("demo", demo_seeds), ("second", second_seeds)):
        runs = {
            f"seed{s}": _counts(
                surveys[(preset, s)], targets, settings, args.budget, True, refit
            )
            for s in seeds
        }
        out[preset] = _summary(runs, targets)
    return out


def run(args: argparse.Namespace) -> Path:
    """Run the benchmark and write ``active-<date>.json``."""
    from explorer.bench.analysis.data import machine_load

    if args.quick:
        args.n, args.budget = min(args.n, 600), min(args.budget, 20)
        args.timing_n = min(args.timing_n, 100_000)
    load_before = machine_load()
    start = time.perf_counter()
    results: dict[str, Any] = {
        "workload": {
            "kind": "synthetic survey (explorer.ingest.synthetic), in a store",
            "n": args.n,
            "cutout_px": args.size,
            "budget_views": args.budget,
            "embedding": "pixel PCA-64 of asinh cutouts, L2-normalised (dim 64)",
            "anomaly_score": "map.parquet default (explorer.analysis.anomaly)",
            "quick": bool(args.quick),
        },
        "machine": load_before,
    }
    results.update(bench_hunt(args))
    second = results["second"]
    results["ratio_vs_density"] = second["ratio_vs_density"]
    density_found = second["mean"]["density"]
    results["targets"] = {
        "active>=2x_density(second)": bool(
            second["mean"]["active"] >= 2 * density_found
            and second["mean"]["active"] > 0
        ),
        "active>=gp(second)": bool(second["mean"]["active"] >= second["mean"]["gp"]),
    }
    results["timing"] = bench_timing(
        args.timing_n, args.timing_dim, results["settings"]
    )
    results["wall_s"] = round(time.perf_counter() - start, 1)
    results["machine_after"] = machine_load()
    return write_result("active", results, args.out)
