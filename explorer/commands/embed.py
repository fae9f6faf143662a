"""Embed every cutout of a store with a trained checkpoint into a new version.

Writes ``versions/NAME/embeddings.npy`` (encoder output h, L2-normalised) and
``config.json``, runs the analysis (map, similarity index, anomaly scores) and
publishes the version atomically, making it current. With --dask local:N or
--scheduler ADDRESS the cutouts are encoded in blocks by dask tasks (each
worker loads the checkpoint once) and the analysis runs on the same cluster.

Example::

    latentsky embed demo_store --checkpoint ckpt.pt --version v2
"""

from __future__ import annotations

import argparse
from pathlib import Path

from explorer.argtypes import positive_int
from explorer.commands.analyse import add_map_options
from explorer.commands.options import (
    add_dask_options,
    add_device_option,
    add_workers_option,
)

NAME = "embed"
HELP = "embed a store's cutouts with a checkpoint into a new version"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the flags of ``latentsky embed``."""
    parser.add_argument("store", help="store directory")
    parser.add_argument(
        "--checkpoint", required=True, help="checkpoint from `latentsky train`"
    )
    parser.add_argument("--version", required=True, help="name of the new version")
    add_device_option(parser)
    parser.add_argument(
        "--batch-size",
        type=positive_int,
        default=None,
        help="cutouts per forward pass (default: from free GPU memory; 512 on CPU)",
    )
    # 1 reader process is what `embed` always used before --workers was shared
    add_workers_option(parser, default=1, help="DataLoader reader processes")
    parser.add_argument(
        "--no-current",
        action="store_true",
        help="do not make the new version the current one",
    )
    parser.add_argument(
        "--no-analysis", action="store_true", help="skip the map/index/anomaly analysis"
    )
    add_map_options(parser)
    add_dask_options(parser)


def run(args: argparse.Namespace) -> int:
    """Embed (and analyse, publish) and print the new version's name."""
    from explorer.distributed.cluster import client_from_args
    from explorer.jobs.runner import embed_version
    from explorer.store import Store

    common = {
        "device": args.device,
        "batch_size": args.batch_size,
        "make_current": not args.no_current,
        "analyse": not args.no_analysis,
        "map_method": args.map_method,
        "map_seed": args.map_seed,
    }
    where = (Path(args.store), Path(args.checkpoint), args.version)
    with client_from_args(args) as client:
        if client is None:
            # --workers = DataLoader readers, which a dask task does not use
            version = embed_version(*where, workers=args.workers, **common)
        else:
            from explorer.distributed.embed import embed_version_on_dask

            version = embed_version_on_dask(client, *where, **common)
    path = Store.open(args.store).version_dir(version)
    print(f"wrote version {version} at {path}")
    return 0
