"""Export sources as a table with id, RA/Dec (deg), catalogue columns, map
position, anomaly scores, automatic cluster and tag.

Either a saved cluster (``--cluster NAME``), explicit ids (``--ids 1,2,3``),
or the ``--top-anomalies K`` most anomalous sources. The format comes from
the file suffix (``.csv``, ``.fits``, ``.vot``/``.xml``) or ``--format``.

Examples::

    latentsky export demo_store --cluster rings --out rings.fits
    latentsky export demo_store --top-anomalies 100 --out odd.vot --version v2
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from explorer.commands.options import int_list, positive_int

if TYPE_CHECKING:
    from explorer.store import Store

NAME = "export"
HELP = "export a saved cluster or ids to CSV, FITS or VOTable"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the flags of ``latentsky export``."""
    parser.add_argument("store", help="store directory")
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--cluster", metavar="NAME", help="a saved cluster")
    what.add_argument(
        "--ids", type=int_list, metavar="ID,ID,...", help="comma-separated source ids"
    )
    what.add_argument(
        "--top-anomalies",
        type=positive_int,
        metavar="K",
        help="the K most anomalous sources",
    )
    parser.add_argument("--out", required=True, metavar="FILE", help="output file")
    parser.add_argument(
        "--format", choices=("csv", "fits", "votable"), help="default: from the suffix"
    )
    parser.add_argument(
        "--version", help="embedding version of the map/score columns (default current)"
    )


def _ids(args: argparse.Namespace, store: Store) -> list[int]:
    """The ids of ``--ids``, or of the ``--top-anomalies`` most anomalous sources."""
    from explorer.errors import DataError

    if args.ids is not None:
        return args.ids
    table = store.map_table(args.version)
    if "anomaly_score" not in table.columns:
        raise DataError("the map of this version has no anomaly_score column")
    return table.nlargest(args.top_anomalies, "anomaly_score")["id"].tolist()


def run(args: argparse.Namespace) -> int:
    """Write the table and print how many sources went to which file."""
    from explorer.store import Store
    from explorer.store.annotations import Annotations
    from explorer.store.export import export_cluster, export_sources, format_of

    store = Store.open(args.store, check=True)
    fmt = format_of(args.out, args.format)
    if args.cluster is not None:
        notes = Annotations(store.annotations_path)
        path = export_cluster(store, notes, args.cluster, args.out, fmt, args.version)
        count = len(notes.members(args.cluster))
    else:
        ids = _ids(args, store)
        path = export_sources(store, ids, args.out, fmt, args.version)
        count = len(set(ids))
    print(f"wrote {count} sources to {path} ({fmt})")
    return 0
