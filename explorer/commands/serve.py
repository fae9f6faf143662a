"""Serve the dashboard of a store: ``latentsky serve STORE [--version V] [--port P]``.

Starts a Bokeh/Panel server in this process, loads the map table and warms
datashader's numba kernels before the first browser connects (so the first
page renders in about a second, not after several seconds of compiling), then
logs the URL and serves until SIGINT (Ctrl-C) or SIGTERM, which both stop it
cleanly with exit status 0.

Safe by default: it binds 127.0.0.1 and answers only to the loopback names.
Any other ``--address`` needs ``--basic-auth FILE`` (a JSON ``{user:
password}`` file; a login page then guards the dashboard) or an explicit
``--no-auth``. Requests whose ``Host`` header names another host get a 403,
websockets from other origins are refused (add more with ``--allow-origin``).
"""

from __future__ import annotations

import argparse
import logging
import socket
import sys
from typing import TYPE_CHECKING

from explorer.argtypes import port, positive_float, positive_int

if TYPE_CHECKING:
    from explorer.store import Store

log = logging.getLogger(__name__)

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
        help="address to bind (default 127.0.0.1; any other one, e.g. 0.0.0.0 "
        "for every interface, needs --basic-auth FILE or --no-auth)",
    )
    parser.add_argument(
        "--basic-auth",
        default=None,
        metavar="FILE",
        help='JSON file {"user": "password"}: a login page guards the dashboard',
    )
    parser.add_argument(
        "--no-auth",
        action="store_true",
        help="serve a non-loopback --address without a login (anyone who can "
        "reach the port can read the store and write its annotations)",
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
    parser.add_argument(
        "--processes",
        type=positive_int,
        default=1,
        metavar="N",
        help="serving processes sharing the port, for many simultaneous users "
        "(default 1; one process uses about one core however many users)",
    )
    parser.add_argument("--show", action="store_true", help="open a browser tab")
    parser.add_argument(
        "--no-warmup",
        action="store_true",
        help="skip compiling the datashader kernels at start",
    )


def _first_version(store: Store, requested: str | None) -> str:
    """The version shown first: ``requested``, or the current one, or (when
    the current one is damaged) the newest healthy one.

    Raises
    ------
    StoreError
        When the store has no version yet, not ``requested``, ``requested``
        is damaged, or no version is healthy.
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
    if version in store.damaged:
        healthy = [v for v in store.versions if v not in store.damaged]
        if requested or not healthy:
            msg = f"version {version!r} is damaged: {store.damaged[version]}"
            raise StoreError(msg)
        log.warning(
            "current version %r is damaged (%s): showing %r",
            version,
            store.damaged[version],
            healthy[-1],
        )
        version = healthy[-1]
    return version


def _access(args: argparse.Namespace) -> dict[str, str] | None:
    """The basic-auth users, after checking the address may be served so.

    Raises
    ------
    LatentskyError
        For a non-loopback address with neither ``--basic-auth`` nor
        ``--no-auth``, both flags, or an unusable basic-auth file.
    """
    from explorer.app.access import is_loopback, read_basic_auth
    from explorer.errors import LatentskyError

    if args.basic_auth and args.no_auth:
        msg = "--basic-auth and --no-auth contradict each other: give one"
        raise LatentskyError(msg)
    if args.basic_auth:
        return read_basic_auth(args.basic_auth)
    if is_loopback(args.address):
        return None
    if not args.no_auth:
        msg = (
            f"--address {args.address} exposes the dashboard beyond this machine: "
            'add --basic-auth FILE (a JSON {"user": "password"} file) or --no-auth'
        )
        raise LatentskyError(msg)
    log.warning(
        "serving %s without authentication (--no-auth): anyone who can reach it "
        "can read the store and change its annotations",
        args.address,
    )
    print(
        f"warning: --no-auth: {args.address} is served without a login",
        file=sys.stderr,
        flush=True,
    )
    return None


def _bindable_port(address: str, wanted: int) -> int:
    """``wanted``, or a free port for 0; checks it can be bound on ``address``.

    Raises
    ------
    LatentskyError
        If the port is in use or the address is not this machine's.
    """
    from explorer.errors import LatentskyError

    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    with socket.socket(family) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((address, wanted))
        except OSError as exc:
            msg = f"cannot listen on {address}:{wanted}: {exc.strerror or exc}"
            raise LatentskyError(msg) from None
        return sock.getsockname()[1]


def run(args: argparse.Namespace) -> int:
    """Serve the dashboard until SIGINT or SIGTERM (exit status 0)."""
    from explorer.errors import LatentskyError

    if args.show and args.processes > 1:
        msg = "--show opens one tab from one process: leave it out with --processes"
        raise LatentskyError(msg)
    users = _access(args)
    from explorer.app.server import serve
    from explorer.store import Store

    store = Store.open(args.store, check=True)
    first = _first_version(store, args.version)
    serve(
        store,
        first,
        requested_version=args.version,
        port=_bindable_port(args.address, args.port),
        address=args.address,
        basic_auth=users,
        allow_origin=args.allow_origin,
        session_timeout_s=args.session_timeout,
        show=args.show,
        warmup=not args.no_warmup,
        processes=args.processes,
    )
    _exit_now()
    return 0


def _exit_now() -> None:
    """Leave without joining the session pool's threads.

    A thread may be rendering a map or compiling a numba kernel for a page
    that is gone, and the interpreter's exit would wait for it (seconds on
    a busy machine). Nothing such work holds is durable: annotations are
    written on the event loop, each in its own SQLite transaction, so the
    server stops within the promised 2 s.
    """
    import logging
    import os
    import sys

    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
