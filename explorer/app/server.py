"""The dashboard server of ``latentsky serve``: warm-up, then one Bokeh/Panel server.

Moved here from the ``serve`` command so that only :mod:`explorer.app` imports
panel; the command validates its arguments and calls :func:`serve`.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from explorer.store import Store

log = logging.getLogger(__name__)


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
    from explorer.app.render.map import warm_up as warm_up_map
    from explorer.app.views.anomalies import PER_PAGE, TILE

    start = time.perf_counter()
    data = services.map_data(store, version)
    sample = slice(0, min(data.n, 10_000))
    x = data.x[sample]
    y = data.y[sample]
    warm_up_map(x, y)
    data.nearest(float(x[0]), float(y[0]), 1.0)
    # the first page shows the anomaly queue: render its cutouts into the
    # PNG cache shared by all sessions (and import astropy's stretches)
    if "anomaly_score" in data.table:
        scores = data.table["anomaly_score"].to_numpy(dtype=np.float64)
        top = np.argsort(-np.nan_to_num(scores, nan=-np.inf))[:PER_PAGE]
        services.cutout_images(store).many(data.ids[top], "lupton", TILE)
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
    session_timeout_s: float = 15.0,
    show: bool = False,
    warmup: bool = True,
) -> None:
    """Serve the dashboard of ``store`` until interrupted (Ctrl-C).

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
        Port, 0 for any free one.
    address : str
        Address to bind.
    allow_origin : sequence of str
        Extra websocket origins ``host[:port]``.
    session_timeout_s : float
        Seconds after its page closed that a session is released.
    show : bool
        Open a browser tab.
    warmup : bool
        Compile the datashader kernels before the first browser connects.
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

    origins = [f"localhost:{port}", f"127.0.0.1:{port}", *allow_origin]
    server = pn.serve(
        {"/": session},
        port=port,
        address=address,
        show=False,
        start=False,
        title="latentsky",
        websocket_origin=origins if port else "*",
        # bokeh's own names: a closed page's session (its views, callbacks
        # and subscriptions) is destroyed this long after its socket closed
        check_unused_sessions_milliseconds=max(500, int(session_timeout_s * 500)),
        unused_session_lifetime_milliseconds=max(1, int(session_timeout_s * 1000)),
    )
    # installs bokeh's background tasks (the unused-session reaper among
    # them) on the loop; without it no session is ever destroyed
    server.start()
    url = f"http://{address}:{server.port}/"
    log.info("latentsky dashboard of %s (version %s) at %s", store.root, version, url)
    print(f"serving {store.root} at {url}", flush=True)
    if show:
        server.io_loop.add_callback(server.show, "/")
    try:
        server.io_loop.start()
    except KeyboardInterrupt:
        log.info("stopped")
