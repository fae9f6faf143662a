"""The serving stages of ``latentsky bench scale``: a real server on the store.

``server_start`` is a real ``latentsky serve`` process, spawn → first page
fetched over HTTP (:func:`explorer.bench.ui_server.start_server`), its peak
RSS sampled over its process tree; ``page_fetch`` is one more page (a fresh
session's document). The interactive work is the UI benchmark's own:
:func:`~explorer.bench.ui_server.measure_server_side` (map load + KD-tree,
box resolution, nearest-point lookup and the box's metrics, timed in this
process on the same store) and, with ``browser``,
:func:`~explorer.bench.ui_browser.measure_browser` against the server.
"""

from __future__ import annotations

import time
import urllib.request
from pathlib import Path
from typing import Any

import psutil

from explorer.bench.scale_measure import RssSampler, load_average
from explorer.bench.ui_server import (
    free_port,
    measure_server_side,
    start_server,
    stop_server,
)

#: zoom events measured in the browser
WHEELS = 10


def _stage(wall_s: float | None, peak: float | None, load: list[float]) -> dict:
    """A stage record: seconds, peak RSS (MiB) and the load before/after."""
    return {
        "wall_s": None if wall_s is None else round(wall_s, 4),
        "peak_rss_mib": peak,
        "load_before": load,
        "load_after": load_average(),
        "ok": wall_s is not None,
    }


def _server_side(store_root: Path, box_target: int) -> tuple[dict[str, Any], Any]:
    """The UI benchmark's server-side timings, sampled for this process's RSS."""
    from explorer.store import Store

    me = psutil.Process()
    load = load_average()
    with RssSampler(lambda: [me]) as sampler:
        store = Store.open(store_root)
        side, data = measure_server_side(store, box_target)
    peak = sampler.peak_mib()
    stages = {
        "map_load": _stage(side["map_load_and_kdtree_s"], peak, load),
        "box_resolve": _stage(side["box_resolve_ms"] / 1000, peak, load),
        "box_metrics": _stage(side["metrics_s"], peak, load),
        "hover_nearest": _stage(side["nearest_ms"] / 1000, peak, load),
    }
    stages["box_resolve"]["box_sources"] = side["box_sources"]
    for record in stages.values():
        record["where"] = "UI bench's server-side code, in the bench process"
    return stages, data


def _browser(url: str, data, box_target: int, server: psutil.Process) -> dict:
    """First paint, zoom, hover and box → grid + metrics in headless chromium."""
    from explorer.bench.ui_browser import measure_browser

    load = load_average()
    with RssSampler(lambda: [server]) as sampler:
        figures = measure_browser(url, data, WHEELS, box_target)
    peak = sampler.peak_mib()  # the server's, while the browser drives it

    def ms(value: float | None) -> float | None:
        return None if value is None else value / 1000

    stages = {
        "first_paint": _stage(figures["first_paint_s"], peak, load),
        "zoom": _stage(ms(figures["zoom"]["median_ms"]), peak, load),
        "hover": _stage(ms(figures["hover"]["median_ms"]), peak, load),
        "box_grid": _stage(figures["box"]["grid_s"], peak, load),
        "box_grid_metrics": _stage(figures["box"]["grid_and_metrics_s"], peak, load),
    }
    stages["zoom"]["detail"] = figures["zoom"]
    stages["hover"]["detail"] = figures["hover"]
    stages["box_grid_metrics"]["detail"] = figures["box"]
    return stages


def measure_serving(
    store_root: Path, work: Path, box_target: int, browser: bool
) -> dict[str, dict[str, Any]]:
    """Start a server on the store and measure the serving stages.

    Parameters
    ----------
    store_root : pathlib.Path
        An analysed store.
    work : pathlib.Path
        Folder for the server's log (``serve.log``).
    box_target : int
        Sources inside the measured box (10 % of the store).
    browser : bool
        Also drive headless chromium (first paint, zoom, hover, box).

    Returns
    -------
    dict
        ``{stage: record}`` for ``server_start``, ``page_fetch``,
        ``map_load``, ``box_resolve``, ``box_metrics``, ``hover_nearest``
        and, with ``browser``, ``first_paint``, ``zoom``, ``hover``,
        ``box_grid``, ``box_grid_metrics``; each with ``wall_s`` (the median
        for zoom and hover) and ``peak_rss_mib``.
    """
    me = psutil.Process()
    load = load_average()
    with RssSampler(lambda: me.children(recursive=True)) as sampler:
        process, out, url, start_s = start_server(
            store_root, free_port(), work / "serve.log"
        )
    try:
        server = psutil.Process(process.pid)
        stages = {"server_start": _stage(start_s, sampler.peak_mib(), load)}
        load = load_average()
        with RssSampler(lambda: [server]) as sampler:
            start = time.perf_counter()
            with urllib.request.urlopen(url, timeout=120) as response:
                response.read()
            fetch_s = time.perf_counter() - start
        stages["page_fetch"] = _stage(fetch_s, sampler.peak_mib(), load)
        side, data = _server_side(store_root, box_target)
        stages.update(side)
        if browser:
            stages.update(_browser(url, data, box_target, server))
    finally:
        stop_server(process, out)
    return stages
