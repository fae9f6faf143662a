"""Recompute the analysis of an existing embedding version.

Builds the similarity index (index.faiss), the k-NN graph, anomaly scores,
HDBSCAN clusters and the map (map.parquet: UMAP, t-SNE or PCA with
``--map``; ``--seed`` for a reproducible one) from the version's
embeddings.npy, aligning the map to the previous version's. Each file is
replaced atomically; timings, the index kind and the map's method, seed and
trustworthiness go to analysis.json.
"""

from __future__ import annotations

import argparse

NAME = "analyse"
HELP = "recompute map, similarity index, anomaly scores and clusters of a version"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the flags of ``latentsky analyse``."""
    parser.add_argument("store", help="store directory")
    parser.add_argument(
        "--version", default=None, help="version name (default: the current version)"
    )
    parser.add_argument(
        "--align-to",
        default="auto",
        help="version whose map orientation to keep "
        "(default: the previous one; 'none' to skip)",
    )
    add_map_options(parser)
    parser.add_argument("--no-progress", action="store_true", help="hide progress bars")


def add_map_options(parser: argparse.ArgumentParser) -> None:
    """``--map`` and ``--seed`` (shared with ``latentsky embed``)."""
    from explorer.analysis.map_methods import MAP_METHODS
    from explorer.commands.options import non_negative_int

    parser.add_argument(
        "--map",
        dest="map_method",
        choices=MAP_METHODS,
        default="umap",
        help="2-D map method of the version (default umap; tsne = openTSNE, "
        "pca = first two principal axes); recorded in analysis.json",
    )
    parser.add_argument(
        "--seed",
        dest="map_seed",
        type=non_negative_int,
        default=None,
        help="seed the map for a reproducible result (UMAP then runs on one "
        "thread, several times slower); default unseeded, all cores",
    )


def run(args: argparse.Namespace) -> int:
    """Analyse the version and print the index kind, clusters and timings."""
    from explorer.analysis.pipeline import analyse_version
    from explorer.errors import StoreError
    from explorer.store import Store

    store = Store.open(args.store, check=True)
    version = args.version or store.current_version
    if version is None:
        raise StoreError(
            f"store {args.store} has no version yet (run `latentsky embed`)"
        )
    previous = None if args.align_to == "none" else args.align_to
    info = analyse_version(
        store,
        version,
        previous=previous,
        progress=not args.no_progress,
        map_method=args.map_method,
        map_seed=args.map_seed,
    )
    timings = ", ".join(f"{k} {v:.1f}s" for k, v in info["timings_s"].items())
    trust = (info["map"].get("trustworthiness") or {}).get("trustworthiness")
    trust_text = "n/a" if trust is None else f"{trust:.4f}"
    print(
        f"analysed {version}: {info['n_sources']} sources, index "
        f"{info['index']['kind']}, {info['clusters']['n_clusters']} clusters, "
        f"map {info['map']['method']} (trustworthiness {trust_text}) ({timings})"
    )
    return 0
