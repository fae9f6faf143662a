"""Check a store's health: ``latentsky check STORE [--deep] [--repair]``.

The quick check reads headers and metadata only (manifest schema, Parquet
footers, the cutout array's shape and dtype, each version's ``.npy`` header
and file size, row counts agreeing). ``--deep`` reads everything: every
cutout chunk, catalogue value ranges (RA in [0, 360), Dec in [-90, 90],
finite, unique ids), Parquet page checksums, the FAISS index and SQLite's
integrity check. ``--repair`` first removes the temporary files and
directories that killed writers left behind (never a live writer's).

Exit status 0 when healthy; 2 with one line per problem when not.
"""

from __future__ import annotations

import argparse
import sys

NAME = "check"
HELP = "check a store for damage (--deep reads everything; --repair cleans up)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the flags of ``latentsky check``."""
    parser.add_argument("store", help="store directory")
    parser.add_argument(
        "--deep",
        action="store_true",
        help="read every chunk, value, page checksum, index and the database",
    )
    parser.add_argument(
        "--repair",
        action="store_true",
        help="remove temporary leftovers of killed writers before checking",
    )


def run(args: argparse.Namespace) -> int:
    """Print the problems found (one line each); 2 if any, else 0."""
    from explorer.store.health import deep_check, quick_check, repair

    if args.repair:
        for path in repair(args.store):
            print(f"removed leftover {path}")
    problems = deep_check(args.store) if args.deep else quick_check(args.store)
    for problem in problems:
        print(f"latentsky check: {problem}", file=sys.stderr)
    if problems:
        return 2
    kind = "deep" if args.deep else "quick"
    print(f"{args.store}: healthy ({kind} check)")
    return 0
