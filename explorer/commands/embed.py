"""Embed every cutout of a store with a trained checkpoint into a new version.

Writes ``versions/NAME/embeddings.npy`` (encoder output h, L2-normalised) and
``config.json``, runs the analysis (map, similarity index, anomaly scores) and
publishes the version atomically, making it current.

Example::

    latentsky embed demo_store --checkpoint ckpt.pt --version v2
"""

from __future__ import annotations

import argparse

NAME = "embed"
HELP = "embed a store's cutouts with a checkpoint into a new version"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("store", help="store directory")
    parser.add_argument(
        "--checkpoint", required=True, help="checkpoint from `latentsky train`"
    )
    parser.add_argument("--version", required=True, help="name of the new version")
    parser.add_argument(
        "--device", default="auto", help="auto (cuda > cpu), cpu or cuda"
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        default=None,
        help="cutouts per forward pass (default: from free GPU memory; 512 on CPU)",
    )
    parser.add_argument(
        "--no-current",
        action="store_true",
        help="do not make the new version the current one",
    )
    parser.add_argument(
        "--no-analysis", action="store_true", help="skip the map/index/anomaly analysis"
    )


def run(args: argparse.Namespace) -> int:
    from models.embed import embed_store

    path = embed_store(
        args.store,
        args.checkpoint,
        args.version,
        device=args.device,
        batch_size=args.batch_size,
        make_current=not args.no_current,
        analyse=not args.no_analysis,
    )
    print(f"wrote version {args.version} at {path}")
    return 0
