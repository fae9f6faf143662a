"""Serve the dashboard of a store: ``latentsky serve STORE [--version V] [--port P]``.

Starts a Bokeh/Panel server in this process, loads the map table and warms
datashader's numba kernels before the first browser connects (so the first
page renders in about a second, not after several seconds of compiling), then
logs the URL and serves until interrupted.
"""

from __future__ import annotations

import argparse
import logging

NAME = "serve"
HELP = "serve the interactive dashboard of a store"

log = logging.getLogger(__name__)


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value > 0 or value == float("inf"):
        msg = f"{text!r} is not a positive number of seconds"
        raise argparse.ArgumentTypeError(msg)
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("store", help="store directory")
    parser.add_argument(
        "--version",
        default=None,
        help="embedding version shown first (default: the current one)",
    )
    parser.add_argument("--port", type=int, default=5006, help="port (0 = any free)")
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
        type=_positive_seconds,
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


def warm_up(store, version: str) -> float:
    """Load the map of ``version`` and run each map aggregation once.

    Returns
    -------
    float
        Seconds spent.
    """
    import time

    import numpy as np

    from explorer.app.data import map_data
    from explorer.app.views.map import warm_up as warm_up_map

    start = time.perf_counter()
    data = map_data(store, version)
    sample = slice(0, min(data.n, 10_000))
    x = data.x[sample]
    y = data.y[sample]
    warm_up_map(x, y)
    data.nearest(float(x[0]), float(y[0]), 1.0)
    # the first page shows the anomaly queue: render its cutouts into the
    # PNG cache shared by all sessions (and import astropy's stretches)
    from explorer.app.state import _images_for
    from explorer.app.views.anomalies import PER_PAGE, TILE

    if "anomaly_score" in data.table:
        scores = data.table["anomaly_score"].to_numpy(dtype=np.float64)
        top = np.argsort(-np.nan_to_num(scores, nan=-np.inf))[:PER_PAGE]
        _images_for(store).many(data.ids[top], "lupton", TILE)
    # the first selection would otherwise pay for importing scikit-learn
    from explorer.app.scores import selection_scores

    clusters = data.table["cluster"].to_numpy() if "cluster" in data.table else None
    selection_scores(
        data.embeddings, np.arange(min(data.n, 200)), clusters=clusters, max_rest=2000
    )
    return time.perf_counter() - start


def run(args: argparse.Namespace) -> int:
    import os

    from explorer.errors import StoreError
    from explorer.store import Store

    store = Store.open(args.store)
    version = args.version or store.current_version
    if version is None:
        msg = f"store {store.root} has no embedding version yet (run `latentsky embed`)"
        raise StoreError(msg)
    if version not in store.versions:
        have = ", ".join(store.versions)
        msg = f"store {store.root} has no version {version!r} (versions: {have})"
        raise StoreError(msg)
    os.environ["LATENTSKY_STORE"] = str(store.root)
    os.environ["LATENTSKY_VERSION"] = version if args.version else ""

    import panel as pn

    from explorer.app import main as app_main

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    app_main.extension()
    if not args.no_warmup:
        seconds = warm_up(store, version)
        log.info("warmed the map kernels in %.1f s", seconds)

    def session():
        return app_main.create_app(store.root, args.version)

    origins = [f"localhost:{args.port}", f"127.0.0.1:{args.port}", *args.allow_origin]
    server = pn.serve(
        {"/": session},
        port=args.port,
        address=args.address,
        show=False,
        start=False,
        title="latentsky",
        websocket_origin=origins if args.port else "*",
        # bokeh's own names: a closed page's session (its views, callbacks
        # and subscriptions) is destroyed this long after its socket closed
        check_unused_sessions_milliseconds=max(500, int(args.session_timeout * 500)),
        unused_session_lifetime_milliseconds=max(1, int(args.session_timeout * 1000)),
    )
    # installs bokeh's background tasks (the unused-session reaper among
    # them) on the loop; without it no session is ever destroyed
    server.start()
    port = server.port
    url = f"http://{args.address}:{port}/"
    log.info("latentsky dashboard of %s (version %s) at %s", store.root, version, url)
    print(f"serving {store.root} at {url}", flush=True)
    if args.show:
        server.io_loop.add_callback(server.show, "/")
    try:
        server.io_loop.start()
    except KeyboardInterrupt:
        log.info("stopped")
    return 0
