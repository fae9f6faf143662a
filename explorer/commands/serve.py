"""Serve the dashboard of a store: ``latentsky serve STORE [--version V] [--port P]``.

Starts a Bokeh/Panel server in this process, loads the map table and warms
datashader's numba kernels before the first browser connects (so the first
page renders in about a second, not after several seconds of compiling), then
logs the URL and serves until interrupted.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from explorer.commands.options import port, positive_float

if TYPE_CHECKING:
    from explorer.store import Store

NAME = "serve"
HELP = "serve the interactive dashboard of a store"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the flags of ``latentsky serve``."""
    parser.add_argument("store", help="store directory")
    parser.add_argument(
        "--version",
        default=None,
        help="embedding version shown first (default: the current one)",
    )
    parser.add_argument("--port", type=port, default=5006, help="port (0 = any free)")
    parser.add_argument(
        "--address",
        default="127.0.0.1",
        help="address to bind (0.0.0.0 for every interface)",
    )
    parser.add_argument(
        "--allow-origin",
        action="append",
        default=[],
        help="extra websocket origin host[:port] allowed to connect",
    )
    parser.add_argument(
        "--session-timeout",
        type=positive_float,
        default=15.0,
        metavar="S",
        help="seconds after its page closed that a session is released (default 15)",
    )
    parser.add_argument("--show", action="store_true", help="open a browser tab")
    parser.add_argument(
        "--no-warmup",
        action="store_true",
        help="skip compiling the datashader kernels at start",
    )


def _first_version(store: Store, requested: str | None) -> str:
    """The version shown first: ``requested`` or the current one (which must exist).

    Raises
    ------
    StoreError
        When the store has no version yet, or not ``requested``.
    """
    from explorer.errors import StoreError

    version = requested or store.current_version
    if version is None:
        msg = f"store {store.root} has no embedding version yet (run `latentsky embed`)"
        raise StoreError(msg)
    if version not in store.versions:
        have = ", ".join(store.versions)
        msg = f"store {store.root} has no version {version!r} (versions: {have})"
        raise StoreError(msg)
    return version


def run(args: argparse.Namespace) -> int:
    """Serve the dashboard until interrupted (Ctrl-C)."""
    from explorer.app.server import serve
    from explorer.store import Store

    store = Store.open(args.store, check=True)
    serve(
        store,
        _first_version(store, args.version),
        requested_version=args.version,
        port=args.port,
        address=args.address,
        allow_origin=args.allow_origin,
        session_timeout_s=args.session_timeout,
        show=args.show,
        warmup=not args.no_warmup,
    )
    return 0
