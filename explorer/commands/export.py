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

``--format hats OUT`` writes every source of a version (catalogue, map,
anomaly scores, clusters, tags; map columns under their ``map.parquet``
names) as a HATS catalogue folder that ``lsdb.open_catalog`` reads and
cross-matches with other surveys (:mod:`explorer.store.hats`).

Examples::

    latentsky export demo_store --cluster rings --out rings.fits
    latentsky export demo_store --cluster rings --out rings.png --stretch asinh
    latentsky export demo_store --top-anomalies 100 --out odd.vot --version v2
    latentsky export demo_store --cone "10h00m24s +02d12m00s 2arcmin" --out c.csv
    latentsky export demo_store --format hats demo_hats
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from explorer.argtypes import int_list, positive_int

if TYPE_CHECKING:
    from explorer.store import Store

NAME = "export"
HELP = "export sources to CSV, FITS, VOTable, Parquet or a PNG contact sheet"
TABLE_FORMATS = ("csv", "fits", "votable", "parquet")
#: ``--format hats``: a whole version as a HATS catalogue folder
HATS = "hats"
STRETCHES = ("lupton", "asinh", "log", "sqrt", "linear")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the flags of ``latentsky export``."""
    parser.add_argument("store", help="store directory or fsspec URL")
    # one selection is required for a table or sheet, none for hats (checked
    # in run: argparse cannot make a group's requirement depend on --format)
    what = parser.add_mutually_exclusive_group()
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
        "--format",
        nargs="+",
        action=_FormatAction,
        metavar=("FORMAT", "OUT"),
        help=f"table format: {', '.join(TABLE_FORMATS)} (default: the suffix); "
        "or 'hats OUT': every source of the version as a HATS catalogue folder",
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


class _FormatAction(argparse.Action):
    """``--format FORMAT``, or ``--format hats OUT`` with the folder after it.

    A positional ``OUT`` after the options cannot be declared: argparse gives
    an optional positional its (empty) value with ``STORE``, before it sees
    the options, so ``hats`` takes its folder as a value of its own.
    """

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        fmt, *rest = values
        choices = (*TABLE_FORMATS, HATS)
        if fmt not in choices:
            shown = ", ".join(repr(c) for c in choices)
            msg = f"invalid choice: {fmt!r} (choose from {shown})"
            raise argparse.ArgumentError(self, msg)
        if rest and (fmt != HATS or len(rest) > 1):
            msg = f"only 'hats' takes a value after it (the output folder), got {rest}"
            raise argparse.ArgumentError(self, msg)
        namespace.format = fmt
        if rest:
            namespace.out_path = rest[0]


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

    out_path = getattr(args, "out_path", None)
    if out_path is not None and args.out is not None:
        msg = f"output given twice ({out_path} and --out {args.out}): give one"
        raise DataError(msg)
    args.out = args.out or out_path
    if args.format == HATS:
        return _run_hats(args)
    if not _selection_given(args):
        raise DataError(
            "choose the sources: --cluster NAME, --ids, --top-anomalies K or --cone "
            "(or --format hats for a whole version)"
        )
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


def _selection_given(args: argparse.Namespace) -> bool:
    selections = (args.cluster, args.ids, args.top_anomalies, args.cone)
    return any(value is not None for value in selections)


def _run_hats(args: argparse.Namespace) -> int:
    """``--format hats``: write the whole version as a HATS catalogue."""
    from explorer.errors import DataError
    from explorer.store import Store
    from explorer.store.hats import export_hats

    if args.out is None:
        raise DataError("--format hats needs the output folder: --format hats OUT")
    if _selection_given(args) or args.contact_sheet is not None:
        raise DataError(
            "--format hats exports every source of a version: drop --cluster, "
            "--ids, --top-anomalies, --cone and --contact-sheet"
        )
    store = Store.open(args.store, check=True)
    out = export_hats(store, args.out, args.version)
    version = args.version or store.current_version
    print(f"wrote {store.n_sources} sources of version {version} to {out} (hats)")
    return 0
