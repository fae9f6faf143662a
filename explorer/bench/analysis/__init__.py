"""``latentsky bench analysis``: the analysis core, each figure next to its reference.

Sections (sizes from flags; the defaults are the sizes the targets are set for),
one module each in this package:

* ``tpcf`` -- TPCF score of ``--tpcf-n`` points: fast (analytic RR, grid DD)
  vs the reference (explicit Gaussian randoms, N_R = 5 N_D, TreeCorr pair
  counts, natural and Landy-Szalay estimators) over ``--tpcf-draws`` random
  catalogues; the unbiasedness check at n = 10, 20, 50; the sigma options.
  Target: >= 1000x faster, fast inside the reference's spread.
* ``map`` -- map of ``--map-n`` x 128-D by each of ``--map-methods`` (ours:
  UMAP on the FAISS graph, unseeded; openTSNE; PCA) vs plain
  ``umap.UMAP().fit_transform``, trustworthiness (k=10) on all points.
* ``similar`` -- top-100 query in ``--similar-n`` x 128-D: per-query time and
  recall@100 against exact search, plus build time. Target: <= 20 ms, >= 0.95.
* ``anomaly`` -- k-NN graph + scores for ``--anomaly-n`` sources: total time
  and recall@10 of the graph on ``--recall-queries`` sources vs exact search.
* ``rare_kinds`` -- on the ``demo`` and ``second`` presets (``--presets``),
  each rare kind's recall in the top 1 %/5 % and the pooled rare share in
  the top 1 % for every candidate score, plus the artefact flags' precision
  and recall per artefact kind. Targets: >= 75 % rare in the top 1 %, every
  kind >= 50 % in the top 5 %.
* ``clusters`` -- auto clusters vs the hidden labels (ARI, NMI, noise, per
  kind purity/completeness) on both presets: HDBSCAN as before, HDBSCAN on
  the UMAP map and Leiden on the k-NN graph, settings chosen on demo; Leiden
  vs HDBSCAN time on ``--cluster-time-n`` vectors. Target: noise < 30 %
  with ARI >= 0.5 on demo.

``rare_kinds`` and ``clusters`` evaluate ``--embedding``: the pixel-PCA
stand-in (default) or ``encoder``, the trained ``--checkpoint`` (default the
shipped demo encoder, 64 px cutouts: pass ``--second-size 64``).
* ``metrics`` -- Davies-Bouldin + TPCF of a ``--metrics-n`` selection.
  Target: <= 1 s together.

Big-N parts use clustered synthetic embeddings: a Gaussian mixture on the
unit sphere (:func:`explorer.bench.analysis.data.sphere_mixture`).
"""

from __future__ import annotations

import argparse
import importlib
import logging
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

#: section -> module of this package holding ``bench_<section>(args) -> dict``
SECTION_MODULES = {
    "tpcf": "tpcf",
    "map": "maps",
    "similar": "similar",
    "anomaly": "anomaly",
    "rare_kinds": "rare_kinds",
    "clusters": "clusters",
    "metrics": "metrics",
}
SECTIONS = tuple(SECTION_MODULES)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags of the analysis benchmark (``--out`` is added by the caller)."""
    add = parser.add_argument
    add("--sections", default=",".join(SECTIONS), help="comma-separated sections")
    add("--dim", type=int, default=128, help="embedding dimension (default 128)")
    add("--tpcf-n", type=int, default=20_000, help="TPCF points (default 20000)")
    add("--tpcf-draws", type=int, default=6, help="reference catalogues (6, >= 5)")
    add(
        "--tpcf-gauss-draws",
        type=int,
        default=1000,
        help="Gaussian draws per n of the TPCF unbiasedness check (1000)",
    )
    add("--map-n", type=int, default=200_000, help="map sources (default 200000)")
    add(
        "--map-methods",
        default="umap,tsne,pca",
        help="map methods compared in the map section (umap,tsne,pca)",
    )
    add("--similar-n", type=int, default=1_000_000, help="index size (default 1e6)")
    add("--queries", type=int, default=100, help="timed similarity queries")
    add("--anomaly-n", type=int, default=1_000_000, help="anomaly sources (1e6)")
    add(
        "--recall-queries",
        type=int,
        default=2000,
        help="sources whose k-NN graph rows are checked against exact search (2000)",
    )
    add("--metrics-n", type=int, default=100_000, help="selection size (1e5)")
    add(
        "--demo-store",
        default=None,
        help="store with a trained embedding version for rare_kinds (default: "
        "build a demo survey and use pixel PCA as the embedding)",
    )
    add(
        "--embedding",
        choices=("pca", "encoder"),
        default="pca",
        help="embedding of the rare_kinds and clusters sections: pixel PCA-64 "
        "stand-in, or the trained encoder of --checkpoint (default pca)",
    )
    add(
        "--checkpoint",
        default=None,
        help="encoder for --embedding encoder (default assets/encoder-demo.pt)",
    )
    add(
        "--cluster-time-n",
        type=int,
        default=100_000,
        help="synthetic vectors Leiden and HDBSCAN are timed on (0 = skip)",
    )
    add("--demo-n", type=int, default=20_000, help="demo survey sources (20000)")
    add("--demo-size", type=int, default=64, help="demo cutout size in px (64)")
    add("--seed", type=int, default=0, help="random seed")
    add("--presets", default="demo,second", help="survey presets (demo,second)")
    add("--second-size", type=int, default=48, help="second-preset cutout px (48)")
    add("--second-seed", type=int, default=1, help="second-preset seed (1)")


def run(args: argparse.Namespace) -> Path:
    """Run the selected sections and write ``analysis-<date>.json`` under ``--out``."""
    from explorer.bench import write_result
    from explorer.bench.analysis.data import timed

    chosen = [s.strip() for s in args.sections.split(",") if s.strip()]
    unknown = set(chosen) - set(SECTIONS)
    if unknown:
        from explorer.errors import LatentskyError

        msg = f"unknown benchmark sections {sorted(unknown)} (choose from {SECTIONS})"
        raise LatentskyError(msg)
    results: dict[str, Any] = {}
    path = None
    for name in chosen:
        log.info("bench analysis: %s", name)
        module = importlib.import_module(f"{__name__}.{SECTION_MODULES[name]}")
        results[name], seconds = timed(getattr(module, f"bench_{name}"), args)
        results[name]["section_s"] = seconds
        log.info("%s: %s", name, _plain(results[name]))
        # Written after every section so a long run keeps what it measured.
        path = write_result("analysis", _plain(results), args.out)
    return path


def _plain(value: Any) -> Any:
    """``value`` with numpy scalars/arrays turned into JSON-ready Python values."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value
