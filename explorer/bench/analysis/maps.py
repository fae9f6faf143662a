"""``map`` section: each map method (UMAP, t-SNE, PCA) vs plain UMAP.

Every map is scored by trustworthiness (k=10) on all points with the exact
chunked computation (:mod:`explorer.analysis.trustworthiness`); above
50 000 sources on a row sample whose ranks are still taken against all
sources (the record says how many rows).
"""

from __future__ import annotations

import argparse
import os
from typing import Any

import numpy as np

from explorer.bench.analysis.data import sphere_mixture, timed


def _trust(x: np.ndarray, xy: np.ndarray, knn: np.ndarray | None) -> dict[str, Any]:
    from explorer.analysis.pipeline import TRUST_PAIRS
    from explorer.analysis.trustworthiness import trustworthiness

    rows = max(1000, TRUST_PAIRS // len(x))
    out, seconds = timed(trustworthiness, x, xy, k=10, knn=knn, max_rows=rows)
    return {**out, "seconds": seconds}


def bench_map(args: argparse.Namespace) -> dict[str, Any]:
    """Map methods and plain UMAP on ``--map-n`` sources, trustworthiness on all."""
    import warnings
    from importlib.metadata import version

    from explorer.analysis.knn import GRAPH_EXACT_MAX
    from explorer.analysis.map_methods import check_method, project
    from explorer.analysis.neighbors import SimilarityIndex

    methods = [check_method(m.strip()) for m in args.map_methods.split(",") if m]
    x, _ = sphere_mixture(args.map_n, args.dim, seed=args.seed + 1)
    warm = sphere_mixture(2000, args.dim, seed=9)[0]  # compile numba kernels first
    if "umap" in methods:
        project(warm, "umap")
    index, index_s = timed(SimilarityIndex.build, x, np.arange(len(x)))
    knn, knn_s = timed(index.knn_graph, 14)
    exact_knn = knn[0] if len(x) <= GRAPH_EXACT_MAX else None
    out: dict[str, Any] = {
        "workload": "synthetic clustered unit vectors (50-component mixture)",
        "n": args.map_n,
        "dim": args.dim,
        "opentsne_version": version("openTSNE"),
        "load_avg_start": os.getloadavg(),
        "knn_graph_s": index_s + knn_s,
        "methods": {},
    }
    for method in methods:
        (xy, record), seconds = timed(project, x, method, knn=knn)
        out["methods"][method] = {
            "seconds": seconds,
            "record": record,
            "trustworthiness": _trust(x, xy, exact_knn),
        }
    out["load_avg_end"] = os.getloadavg()
    if "umap" in methods:  # the baseline of our UMAP: plain umap-learn
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import umap

            umap.UMAP(n_epochs=5).fit_transform(warm)
            plain_xy, plain_s = timed(umap.UMAP().fit_transform, x)
        out["plain_umap"] = {
            "seconds": plain_s,
            "how": "umap.UMAP().fit_transform(x): its defaults, unseeded",
            "trustworthiness": _trust(x, np.asarray(plain_xy), exact_knn),
        }
        ours = out["methods"]["umap"]
        with_graph = ours["seconds"] + out["knn_graph_s"]
        t_ours = ours["trustworthiness"]["trustworthiness"]
        t_plain = out["plain_umap"]["trustworthiness"]["trustworthiness"]
        out["umap_speedup_incl_graph"] = plain_s / with_graph
        out["targets"] = {
            "speedup>=2": plain_s / with_graph >= 2,
            "trust_within_0.01": t_ours >= t_plain - 0.01,
        }
    return out
