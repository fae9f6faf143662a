"""Recompute the analysis of an existing embedding version.

Builds the similarity index (index.faiss), the k-NN graph, anomaly scores,
HDBSCAN clusters and the UMAP map (map.parquet) from the version's
embeddings.npy, aligning the map to the previous version's. Each file is
replaced atomically; timings and the index kind go to analysis.json.
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
    parser.add_argument("--no-progress", action="store_true", help="hide progress bars")


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
        store, version, previous=previous, progress=not args.no_progress
    )
    timings = ", ".join(f"{k} {v:.1f}s" for k, v in info["timings_s"].items())
    print(
        f"analysed {version}: {info['n_sources']} sources, index "
        f"{info['index']['kind']}, {info['clusters']['n_clusters']} clusters "
        f"({timings})"
    )
    return 0
