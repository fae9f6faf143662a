"""The dashboard server of ``latentsky serve``: warm-up, then one Bokeh/Panel server.

Moved here from the ``serve`` command so that only :mod:`explorer.app` imports
panel; the command validates its arguments and calls :func:`serve`.
"""

from __future__ import annotations

import logging
import os
import secrets
import signal
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from tornado.routing import AnyMatches, HostMatches
from tornado.web import RequestHandler

from explorer.app import access
from explorer.app.processes import prepare_fork
from explorer.app.upload import MAX_UPLOAD_BYTES
from explorer.store import Store

log = logging.getLogger(__name__)

#: the signals that stop ``latentsky serve`` cleanly (exit status 0)
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
#: an upload of :data:`MAX_UPLOAD_BYTES` base64-encoded, plus the message frame
WEBSOCKET_MAX_MESSAGE_BYTES = MAX_UPLOAD_BYTES * 4 // 3 + 2**20


def warm_up(store: Store, version: str) -> float:
    """Load the map of ``version`` and run each map aggregation once.

    Parameters
    ----------
    store : Store
        The served store.
    version : str
        The version shown first.

    Returns
    -------
    float
        Seconds spent.
    """
    from explorer.analysis.metrics import selection_metrics
    from explorer.app import services
    from explorer.app.render.glyphs import TOP_ANOMALIES
    from explorer.app.render.grid_index import index_for
    from explorer.app.render.map import warm_up as warm_up_map
    from explorer.app.views.anomalies import PER_PAGE, TILE
    from explorer.app.views.map_top import top_columns

    start = time.perf_counter()
    data = services.map_data(store, version)
    sample = slice(0, min(data.n, 10_000))
    x = data.x[sample]
    y = data.y[sample]
    warm_up_map(x, y)
    index_for(data, data.x, data.y)  # the version's map index, built once
    top_columns(data, TOP_ANOMALIES)  # the glyphs every page draws at once
    data.nearest(float(x[0]), float(y[0]), 1.0)
    # the first page shows the anomaly queue: render its cutouts into the
    # PNG cache shared by all sessions (and import astropy's stretches)
    if "anomaly_score" in data.table:
        scores = data.table["anomaly_score"].to_numpy(dtype=np.float64)
        top = np.argsort(-np.nan_to_num(scores, nan=-np.inf))[:PER_PAGE]
        services.cutout_images(store).tiles(data.ids[top], "lupton", TILE)
    # the first selection would otherwise pay for importing scikit-learn
    clusters = data.table["cluster"].to_numpy() if "cluster" in data.table else None
    selection_metrics(
        data.embeddings, np.arange(min(data.n, 200)), clusters=clusters, max_rest=2000
    )
    return time.perf_counter() - start


def serve(
    store: Store,
    version: str,
    *,
    requested_version: str | None,
    port: int,
    address: str,
    allow_origin: Sequence[str] = (),
    basic_auth: dict[str, str] | None = None,
    session_timeout_s: float = 15.0,
    show: bool = False,
    warmup: bool = True,
    processes: int = 1,
) -> None:
    """Serve the dashboard of ``store`` until SIGINT or SIGTERM.

    Parameters
    ----------
    store : Store
        The store to serve.
    version : str
        The version shown first (checked to exist by the caller).
    requested_version : str or None
        The version the user asked for (None: each session follows the
        current version).
    port : int
        Port (the caller chose a free one for 0).
    address : str
        Address to bind.
    allow_origin : sequence of str
        Extra websocket origins ``host[:port]`` (their hosts are allowed too).
    basic_auth : dict, optional
        ``{user: password}``: a login page guards every page (Panel's basic
        auth with a random cookie secret per server process).
    session_timeout_s : float
        Seconds after its page closed that a session is released.
    show : bool
        Open a browser tab.
    warmup : bool
        Compile the datashader kernels before the first browser connects.
    processes : int
        Serving processes sharing the port (:mod:`explorer.app.processes`);
        the warm-up runs once, before they are forked.
    """
    # set before the app is imported, as `latentsky serve` always did
    os.environ["LATENTSKY_STORE"] = str(store.root)
    os.environ["LATENTSKY_VERSION"] = requested_version or ""

    import panel as pn

    from explorer.app import main as app_main

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    app_main.extension()
    if warmup:
        seconds = warm_up(store, version)
        log.info("warmed the map kernels in %.1f s", seconds)
    root: Path = store.root

    def session():
        return app_main.create_app(root, requested_version)

    hosts = access.allowed_hosts(address, allow_origin)
    # one secret for all processes: a login cookie works on each of them
    auth = {"basic_auth": basic_auth, "cookie_secret": secrets.token_hex(32)}
    forked = {"num_procs": processes} if processes > 1 else {}
    if forked:
        log.info("forking %d serving processes", processes)
        prepare_fork(processes)
    try:
        server = pn.serve(
            {"/": session},
            port=port,
            address=address,
            show=False,
            start=False,
            title="latentsky",
            websocket_origin=access.websocket_origins(hosts, port, allow_origin),
            # an upload travels base64-encoded in one websocket message
            websocket_max_message_size=WEBSOCKET_MAX_MESSAGE_BYTES,
            # bokeh's own names: a closed page's session (its views, callbacks
            # and subscriptions) is destroyed this long after its socket closed
            check_unused_sessions_milliseconds=max(500, int(session_timeout_s * 500)),
            unused_session_lifetime_milliseconds=max(1, int(session_timeout_s * 1000)),
            **(auth if basic_auth else {}),
            **forked,
        )
    except SystemExit:
        # the waiting parent of a fork: every serving process has stopped
        log.info("all %d serving processes stopped", processes)
        return
    # from here on in each serving process (the parent of a fork only waits)
    refuse_foreign_hosts(server, hosts)
    # installs bokeh's background tasks (the unused-session reaper among
    # them) on the loop; without it no session is ever destroyed
    server.start()
    stop_on_signals(server)
    quiet_closed_pages(server)
    url = f"http://{address}:{server.port}/"
    log.info("latentsky dashboard of %s (version %s) at %s", store.root, version, url)
    log.info("answering to hosts %s", ", ".join(hosts))
    print(f"serving {store.root} at {url}", flush=True)
    if show and not forked:  # one tab, not one per process
        server.io_loop.add_callback(server.show, "/")
    server.io_loop.start()
    log.info("stopped")


class _ForeignHost(RequestHandler):
    """403 for a request whose Host header names none of the served hosts."""

    def prepare(self) -> None:
        self.set_status(403)
        self.finish("unknown host: this dashboard answers only to its own names\n")


def refuse_foreign_hosts(server, hosts: Sequence[str]) -> None:
    """Route requests for any other ``Host`` than ``hosts`` to a 403.

    Bokeh checks the websocket ``Origin`` only; this guards the HTTP pages too
    (DNS rebinding) with tornado's host matching in front of every handler.
    """
    app = server._tornado  # bokeh's tornado Application
    router = app.default_router
    last = router.rules[-1]
    last.matcher = HostMatches(access.host_pattern(hosts))
    router.add_rules([(AnyMatches(), _ForeignHost)])


def quiet_closed_pages(server) -> None:
    """Log a page closed in the middle of a message to it as one debug line.

    Bokeh writes a patch with binary buffers as several websocket frames;
    when the browser closes the page between two of them tornado's write
    task fails with ``WebSocketClosedError`` that nobody retrieves, and
    asyncio prints it as a traceback per closed page. A closing page is
    normal use, so any other unretrieved error still goes to the default
    handler.
    """
    from tornado.iostream import StreamClosedError
    from tornado.websocket import WebSocketClosedError

    loop = server.io_loop.asyncio_loop
    previous = loop.get_exception_handler()

    def handler(loop, context) -> None:
        if isinstance(
            context.get("exception"), WebSocketClosedError | StreamClosedError
        ):
            log.debug("a page closed while a message to it was being sent")
            return
        if previous is not None:
            previous(loop, context)
        else:
            loop.default_exception_handler(context)

    loop.set_exception_handler(handler)


def stop_on_signals(server) -> None:
    """Stop ``server`` and its IOLoop on SIGINT and SIGTERM (exit status 0).

    The handlers run on the asyncio loop itself (``loop.add_signal_handler``,
    what tornado's deprecated ``add_callback_from_signal`` now defers to), so
    the stop happens between two callbacks, never inside one.
    """
    loop = server.io_loop.asyncio_loop

    stopping: list[int] = []

    def stop(signum: int) -> None:
        # signals that came while a callback held the loop are all delivered
        # after it, even once the handlers are removed: stop once
        if stopping:
            return
        stopping.append(signum)
        log.info("%s: stopping", signal.Signals(signum).name)
        for sig in STOP_SIGNALS:
            loop.remove_signal_handler(sig)
        server.stop()
        server.io_loop.stop()

    for sig in STOP_SIGNALS:
        loop.add_signal_handler(sig, stop, sig)
