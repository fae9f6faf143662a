"""Train a self-supervised encoder (SimCLR or BYOL) on a store's cutouts.

The checkpoint is rewritten atomically after every epoch, so Ctrl-C keeps the
last complete epoch; ``--resume`` continues from it (up to ``--epochs``).

Example::

    latentsky train demo_store --out ckpt.pt --epochs 10
    latentsky train demo_store --out ckpt.pt --config best.json

The encoder follows the device unless ``--arch`` says otherwise: a plain
4-stage CNN (16 -> 128 channels, 3 convolutions per stage) on a CPU,
ResNet-18 with bf16 autocast on CUDA; the first log line says which was picked.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from explorer.commands.options import (
    add_device_option,
    add_training_options,
    add_workers_option,
    training_settings,
)

NAME = "train"
HELP = "train a self-supervised encoder (SimCLR/BYOL) on a store"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the flags of ``latentsky train``."""
    from explorer.jobs.runner import training_defaults

    parser.add_argument("store", help="store directory")
    parser.add_argument("--out", required=True, help="checkpoint file to write (.pt)")
    parser.add_argument(
        "--config",
        default=None,
        metavar="FILE",
        help="JSON training settings (e.g. from `latentsky tune`); flags override it",
    )
    add_training_options(parser)
    # default None leaves num_workers to TrainConfig; show its value anyway
    workers = training_defaults()["num_workers"]
    add_workers_option(parser, help=f"DataLoader reader processes (default {workers})")
    add_device_option(parser)
    parser.add_argument(
        "--resume", action="store_true", help="continue from --out if it exists"
    )
    parser.add_argument(
        "--slim",
        action="store_true",
        help="leave the optimiser state out of the checkpoint (smaller)",
    )


def run(args: argparse.Namespace) -> int:
    """Train and print where the checkpoint went."""
    from explorer.commands.tune import read_config
    from explorer.jobs.runner import train_encoder

    settings = read_config(args.config) if args.config else {}
    settings.update(training_settings(args))
    checkpoint = train_encoder(
        Path(args.store),
        Path(args.out),
        settings,
        device=args.device,
        resume=args.resume,
        slim=args.slim,
    )
    print(f"wrote {checkpoint}")
    return 0
