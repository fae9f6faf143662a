"""Print a summary of a store: sources, bands, cutout size, disk use, versions."""

from __future__ import annotations

import argparse

NAME = "info"
HELP = "summarise a store (sources, bands, versions)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the flags of ``latentsky info``."""
    parser.add_argument("store", help="store directory")


def run(args: argparse.Namespace) -> int:
    """Print the store summary."""
    from explorer.store import Store

    print(Store.open(args.store).summary())
    return 0
