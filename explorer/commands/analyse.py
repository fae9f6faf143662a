"""Recompute the analysis of an existing embedding version.

Builds the similarity index (index.faiss), the k-NN graph, anomaly scores,
auto clusters (Leiden on the k-NN graph, or HDBSCAN with ``--clusters
hdbscan``) and the map (map.parquet: UMAP, t-SNE or PCA with ``--map``;
``--seed`` for a reproducible one) from the version's embeddings.npy,
aligning the map to the previous version's. Each file is
replaced atomically; timings, the index kind and the map's method, seed and
trustworthiness go to analysis.json. With --dask local:N or --scheduler
ADDRESS the k-NN graph, pixel-space scores and UMAP placement run per
partition of rows on dask (see explorer.distributed.analyse).
"""

from __future__ import annotations

import argparse

from explorer.commands.options import add_dask_options

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
    add_cluster_options(parser)
    parser.add_argument("--no-progress", action="store_true", help="hide progress bars")
    add_dask_options(parser)


def add_map_options(parser: argparse.ArgumentParser) -> None:
    """``--map`` and ``--seed`` (shared with ``latentsky embed``)."""
    from explorer.analysis.map_methods import MAP_METHODS
    from explorer.argtypes import non_negative_int

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


def add_cluster_options(parser: argparse.ArgumentParser) -> None:
    """``--clusters`` and ``--resolution`` (the auto clusters of the version)."""
    from explorer.analysis.clusters import CLUSTER_METHODS, DEFAULT_METHOD
    from explorer.argtypes import positive_float

    parser.add_argument(
        "--clusters",
        dest="cluster_method",
        choices=CLUSTER_METHODS,
        default=DEFAULT_METHOD,
        help="auto clusters: leiden = communities of the k-NN graph (default), "
        "hdbscan = HDBSCAN on PCA-15 of the embedding",
    )
    parser.add_argument(
        "--resolution",
        type=positive_float,
        default=None,
        help="Leiden resolution (larger = more, smaller clusters; default "
        "chosen on the demo survey, see analysis.json)",
    )


def run(args: argparse.Namespace) -> int:
    """Analyse the version and print the index kind, clusters and timings."""
    from explorer.analysis.pipeline import analyse_version
    from explorer.distributed.cluster import client_from_args
    from explorer.errors import DataError, StoreError
    from explorer.store import Store

    if args.cluster_method != "leiden" and args.resolution is not None:
        msg = f"--resolution applies to --clusters leiden, not {args.cluster_method}"
        raise DataError(msg)

    store = Store.open(args.store, check=True)
    version = args.version or store.current_version
    if version is None:
        raise StoreError(
            f"store {args.store} has no version yet (run `latentsky embed`)"
        )
    previous = None if args.align_to == "none" else args.align_to
    settings = {
        "previous": previous,
        "progress": not args.no_progress,
        "map_method": args.map_method,
        "map_seed": args.map_seed,
        "cluster_method": args.cluster_method,
        "resolution": args.resolution,
    }
    with client_from_args(args) as client:
        if client is None:
            info = analyse_version(store, version, **settings)
        else:
            from explorer.distributed.analyse import analyse_version_on_dask

            info = analyse_version_on_dask(client, store, version, **settings)
    timings = ", ".join(f"{k} {v:.1f}s" for k, v in info["timings_s"].items())
    trust = (info["map"].get("trustworthiness") or {}).get("trustworthiness")
    trust_text = "n/a" if trust is None else f"{trust:.4f}"
    print(
        f"analysed {version}: {info['n_sources']} sources, index "
        f"{info['index']['kind']}, {info['clusters']['n_clusters']} clusters, "
        f"map {info['map']['method']} (trustworthiness {trust_text}) ({timings})"
    )
    return 0
