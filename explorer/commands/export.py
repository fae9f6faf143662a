"""Export sources as a table (id, RA/Dec in degrees, catalogue columns, map
position, anomaly scores, automatic and saved clusters, tag) and/or a PNG
contact sheet of their cutouts.

Either a saved cluster (``--cluster NAME``), explicit ids (``--ids 1,2,3``),
the ``--top-anomalies K`` most anomalous sources, or a cone on the sky
(``--cone "RA Dec RADIUS"``). The table format comes from the file suffix
(``.csv``, ``.fits``, ``.vot``/``.xml``, ``.parquet``) or ``--format``; an
``--out`` ending in ``.png`` writes a contact sheet instead, and
``--contact-sheet PNG`` writes one beside the table. The sheet is drawn with
``--stretch``/``--interval``/``--percentile``/``--rgb``, as the dashboard.

Examples::

    latentsky export demo_store --cluster rings --out rings.fits
    latentsky export demo_store --cluster rings --out rings.png --stretch asinh
    latentsky export demo_store --top-anomalies 100 --out odd.vot --version v2
    latentsky export demo_store --cone "10h00m24s +02d12m00s 2arcmin" --out c.csv
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from explorer.commands.options import int_list, positive_int

if TYPE_CHECKING:
    from explorer.store import Store

NAME = "export"
HELP = "export sources to CSV, FITS, VOTable, Parquet or a PNG contact sheet"
TABLE_FORMATS = ("csv", "fits", "votable", "parquet")
STRETCHES = ("lupton", "asinh", "log", "sqrt", "linear")


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
    what.add_argument(
        "--cone",
        metavar="'RA DEC RADIUS'",
        help="sources in a cone, e.g. '150.1 2.2 30arcsec' or a name in the catalogue",
    )
    parser.add_argument(
        "--out", metavar="FILE", help="table file, or a .png contact sheet"
    )
    parser.add_argument(
        "--format", choices=TABLE_FORMATS, help="table format (default: the suffix)"
    )
    parser.add_argument(
        "--version", help="embedding version of the map/score columns (default current)"
    )
    sheet = parser.add_argument_group("contact sheet")
    sheet.add_argument(
        "--contact-sheet", metavar="PNG", help="also write a PNG of the cutouts"
    )
    sheet.add_argument("--stretch", choices=STRETCHES, default="lupton")
    sheet.add_argument("--interval", choices=("zscale", "percentile"), default="zscale")
    sheet.add_argument(
        "--percentile", type=float, default=99.5, help="percentile interval width"
    )
    sheet.add_argument(
        "--rgb", metavar="R,G,B", help="bands shown as red, green, blue (e.g. i,r,g)"
    )
    sheet.add_argument("--tile", type=positive_int, default=96, help="tile side, px")
    sheet.add_argument("--columns", type=positive_int, help="tiles per row")


def _ids(args: argparse.Namespace, store: Store) -> list[int]:
    """The ids of ``--ids``, ``--cone``, or the ``--top-anomalies`` sources."""
    from explorer.errors import DataError

    if args.ids is not None:
        return args.ids
    if args.cone is not None:
        from explorer.app.coords import SkyIndex

        cone, rows = SkyIndex.of_catalog(store.catalog).search(args.cone)
        if len(rows) == 0:
            msg = f"no source within the cone {cone.describe()}"
            raise DataError(msg)
        return [int(i) for i in store.ids[rows]]
    table = store.map_table(args.version)
    if "anomaly_score" not in table.columns:
        raise DataError("the map of this version has no anomaly_score column")
    return table.nlargest(args.top_anomalies, "anomaly_score")["id"].tolist()


def _settings(args: argparse.Namespace):
    from explorer.app.render.images import DisplaySettings
    from explorer.errors import DataError

    rgb = None
    if args.rgb:
        rgb = tuple(b.strip() for b in args.rgb.split(","))
    try:
        return DisplaySettings(args.stretch, args.interval, args.percentile, rgb)
    except ValueError as exc:
        raise DataError(f"--stretch/--interval/--percentile/--rgb: {exc}") from exc


def _write_sheet(args, store: Store, ids: list[int], path: str, title: str) -> None:
    from explorer.app.render.sheet import store_contact_sheet
    from explorer.errors import DataError
    from explorer.store import atomic

    settings = _settings(args)
    try:
        png = store_contact_sheet(
            store, ids, settings, tile=args.tile, columns=args.columns, title=title
        )
    except ValueError as exc:
        raise DataError(f"contact sheet {path}: {exc}") from exc
    with atomic.atomic_path(Path(path)) as tmp:
        Path(tmp).write_bytes(png)
    print(f"wrote a contact sheet of {len(ids)} sources to {path}")


def run(args: argparse.Namespace) -> int:
    """Write the table and/or sheet and print how many sources went where."""
    from explorer.errors import DataError
    from explorer.store import Store
    from explorer.store.annotations import Annotations
    from explorer.store.export import export_cluster, export_sources, format_of

    if args.out is None and args.contact_sheet is None:
        raise DataError("nothing to write: give --out FILE and/or --contact-sheet PNG")
    sheet = args.contact_sheet
    table_out = args.out
    if table_out is not None and Path(table_out).suffix.lower() == ".png":
        sheet, table_out = table_out, None
    store = Store.open(args.store, check=True)
    fmt = format_of(table_out, args.format) if table_out is not None else None
    if args.cluster is not None:
        notes = Annotations(store.annotations_path)
        ids = [int(i) for i in notes.members(args.cluster)]
        title = f"cluster {args.cluster}"
        if table_out is not None:
            export_cluster(store, notes, args.cluster, table_out, fmt, args.version)
    else:
        ids = list(dict.fromkeys(_ids(args, store)))
        title = f"{len(ids)} sources of {store.root.name}"
        if table_out is not None:
            export_sources(store, ids, table_out, fmt, args.version)
    if table_out is not None:
        print(f"wrote {len(ids)} sources to {table_out} ({fmt})")
    if sheet is not None:
        _write_sheet(args, store, ids, sheet, title)
    return 0
