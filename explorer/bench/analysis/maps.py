"""``map`` section: our map (FAISS graph, sample + place) vs plain UMAP."""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

from explorer.bench.analysis.data import sphere_mixture, timed


def _trustworthiness(x: np.ndarray, xy: np.ndarray, rows: np.ndarray) -> float:
    from sklearn.manifold import trustworthiness

    return float(trustworthiness(x[rows], xy[rows], n_neighbors=10, metric="cosine"))


def bench_map(args: argparse.Namespace) -> dict[str, Any]:
    """Our map vs plain UMAP on ``--map-n`` sources."""
    import warnings

    import umap

    from explorer.analysis.neighbors import SimilarityIndex
    from explorer.analysis.projection import MapProjector

    x, _ = sphere_mixture(args.map_n, args.dim, seed=args.seed + 1)
    rows = np.random.default_rng(args.seed).choice(
        len(x), min(5000, len(x)), replace=False
    )
    warm = sphere_mixture(2000, args.dim, seed=9)[0]  # compile numba kernels first
    MapProjector(n_epochs=5, seed=None).fit(warm)

    def ours():
        index = SimilarityIndex.build(x, np.arange(len(x)))
        knn = index.knn_graph(14)
        return MapProjector(seed=None).fit(x, knn)

    projector, ours_s = timed(ours)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        umap.UMAP(n_epochs=5).fit_transform(warm)
        plain_xy, plain_s = timed(umap.UMAP().fit_transform, x)
    t_ours = _trustworthiness(x, projector.embedding_, rows)
    t_plain = _trustworthiness(x, np.asarray(plain_xy), rows)
    return {
        "n": args.map_n,
        "dim": args.dim,
        "ours": {
            "seconds": ours_s,
            "trustworthiness": t_ours,
            "fit_rows": int(len(projector.fit_rows_)),
            "stages_s": projector.timings_,
        },
        "plain_umap": {"seconds": plain_s, "trustworthiness": t_plain},
        "speedup": plain_s / ours_s,
        "targets": {
            "speedup>=2": plain_s / ours_s >= 2,
            "trust_within_0.01": t_ours >= t_plain - 0.01,
        },
    }
