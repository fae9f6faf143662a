"""Active anomaly hunting from the shell: label sources, see the next ones.

``latentsky hunt STORE --label interesting ID ...`` tags sources (stored in the
annotations database, like the dashboard's marks) and ``--next`` prints the
queue the relevance model (:mod:`explorer.active`) ranks from all the tags:
exploit (most likely interesting) or, with ``--explore``, the promising
sources farthest from anything labelled. ``--undo`` takes back the last
label call.
"""

from __future__ import annotations

import argparse

NAME = "hunt"
HELP = "label sources and print the active review queue"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the flags of ``latentsky hunt``."""
    from explorer.store.annotations.database import TAGS

    parser.add_argument("store", help="an analysed store directory")
    parser.add_argument(
        "--label",
        nargs="+",
        metavar=("TAG", "ID"),
        help=f"tag ({', '.join(TAGS)}) followed by the source ids it applies to",
    )
    parser.add_argument("--undo", action="store_true", help="undo the last label")
    parser.add_argument("--next", type=int, default=0, metavar="N", help="show N next")
    parser.add_argument(
        "--explore", action="store_true", help="explore queue instead of exploit"
    )
    parser.add_argument("--version", default=None, help="embedding version")


def _parse_label(values: list[str]) -> tuple[str, list[int]]:
    from explorer.errors import DataError
    from explorer.store.annotations.database import TAGS

    tag, *ids = values
    if tag not in TAGS or not ids:
        msg = f"--label needs a tag ({', '.join(TAGS)}) and ids, got {values!r}"
        raise DataError(msg)
    try:
        return tag, [int(i) for i in ids]
    except ValueError as exc:
        msg = f"--label: source ids must be integers, got {ids!r}"
        raise DataError(msg) from exc


def run(args: argparse.Namespace) -> int:
    """Apply the label or undo, then print the queue if asked."""
    from explorer.active.session import Hunt
    from explorer.errors import DataError
    from explorer.store import Store
    from explorer.store.annotations import Annotations

    store = Store.open(args.store)
    notes = Annotations.of_store(store)
    if args.label:
        tag, ids = _parse_label(args.label)
        unknown = sorted(set(ids) - set(store.ids.tolist()))
        if unknown:
            msg = f"--label: source id {unknown[0]} is not in {store.root}"
            raise DataError(msg)
        notes.tag(ids, tag)
        print(f"tagged {len(ids)} source(s) {tag}")
    if args.undo:
        undone = notes.undo_last_label()
        print(f"undid the last label ({len(undone)} source(s))")
    if args.next > 0:
        hunt = Hunt.from_store(store, args.version)
        hunt.sync(notes)
        queue = hunt.queue(args.next, "explore" if args.explore else "exploit")
        print(queue.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    return 0
