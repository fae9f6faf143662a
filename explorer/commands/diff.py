"""Compare two embedding versions: per-source neighbourhood change.

For every source, ``1 - Jaccard`` of its k nearest neighbours in the two
versions (0 = same neighbours, 1 = none in common). Prints the mean and
median change and the most-changed sources; the per-source values are cached
in ``versions/<new>/diff-<old>.npy`` for the dashboard's colour field.

Example::

    latentsky diff demo_store v1 v2 --top 10
"""

from __future__ import annotations

import argparse

from explorer.argtypes import non_negative_int, positive_int

NAME = "diff"
HELP = "neighbourhood change of every source between two versions"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the flags of ``latentsky diff``."""
    parser.add_argument("store", help="store directory")
    parser.add_argument("old", help="the earlier version")
    parser.add_argument("new", nargs="?", help="the later version (default current)")
    parser.add_argument(
        "--k", type=positive_int, default=10, help="neighbours compared (10)"
    )
    parser.add_argument(
        "--top", type=non_negative_int, default=10, help="most-changed to list"
    )


def run(args: argparse.Namespace) -> int:
    """Print the summary of the neighbourhood change between the versions."""
    from explorer.analysis.diff import diff_summary
    from explorer.errors import StoreError
    from explorer.store import Store

    store = Store.open(args.store, check=True)
    new = args.new or store.current_version
    if new is None:
        raise StoreError(f"store {store.root} has no current version")
    summary = diff_summary(store, args.old, new, k=args.k, top=args.top)
    print(
        f"neighbourhood change {args.old} -> {new} (k={summary.k}, "
        f"{store.n_sources:,} sources)"
    )
    print(
        f"  mean {summary.mean_change:.3f}  median {summary.median_change:.3f}  "
        f"changed {100 * summary.fraction_changed:.1f}% of sources"
    )
    print(
        "  most changed: "
        + ", ".join(
            f"{i} ({v:.2f})"
            for i, v in zip(
                summary.most_changed_ids.tolist(),
                summary.most_changed_values.tolist(),
                strict=True,
            )
        )
    )
    return 0
