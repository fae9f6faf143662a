"""``latentsky bench ui --render-only``: the map's server side at 10 M points.

A 10 M-source store (cutouts, catalogue, embeddings) and a browser driving it
do not fit this benchmark's machine, so this mode measures the code the
served map runs, in-process, on a synthetic map of the UI bench's blob model
(:func:`~explorer.bench.ui_store.synthetic_points`): the version's grid index,
the render of a wheel zoom sequence per colour field (what
:meth:`~explorer.app.views.map.MapView.render_view` calls), datashader's own
``Canvas.points`` on the same views (the baseline, in the same run), a box of
about 10 % of the sources counted and resolved to rows (index and the
dashboard's brute-force scan, checked equal), random boxes, the top-anomaly
glyph rows, and the memory the index and renderers add to the raw columns.
"""

from __future__ import annotations

import logging
import os
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

#: colour fields measured: count (log), a mean (score), a max (cluster)
FIELDS = ("count", "anomaly_score", "cluster")
#: zoom factor of one wheel step (Bokeh's default wheel zoom is ~0.9-0.8)
WHEEL_FACTOR = 0.8
#: random boxes counted besides the 10 % box
N_RANDOM_BOXES = 20


def _rss_mib() -> tuple[float, float]:
    """``(current, peak)`` resident memory of this process in MiB."""
    fields = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0]) / 1024
    return fields.get("VmRSS", float("nan")), fields.get("VmHWM", float("nan"))


def _summary(ms: list[float]) -> dict[str, float]:
    ordered = sorted(ms)
    p90 = ordered[min(len(ordered) - 1, int(round(0.9 * (len(ordered) - 1))))]
    return {
        "median_ms": round(statistics.median(ordered), 1),
        "p90_ms": round(p90, 1),
        "max_ms": round(ordered[-1], 1),
        "renders": len(ordered),
    }


def _timed_ms(call) -> tuple[Any, float]:
    start = time.perf_counter()
    result = call()
    return result, (time.perf_counter() - start) * 1000


def zoom_views(full, centre, wheels: int) -> list[tuple[tuple, tuple]]:
    """``wheels`` wheel steps into ``centre`` from ``full`` and back out.

    Parameters
    ----------
    full : tuple
        ``((x0, x1), (y0, y1))`` initial view.
    centre : tuple of float
        ``(x, y)`` the wheel zooms towards (stays under the cursor).
    wheels : int
        Steps in (then as many out).

    Returns
    -------
    list of tuple
        ``2 * wheels + 1`` views, the full one first.
    """
    (x0, x1), (y0, y1) = full
    cx, cy = centre
    views = []
    for step in [*range(wheels + 1), *range(wheels - 1, -1, -1)]:
        f = WHEEL_FACTOR**step
        views.append(
            (
                (cx + (x0 - cx) * f, cx + (x1 - cx) * f),
                (cy + (y0 - cy) * f, cy + (y1 - cy) * f),
            )
        )
    return views


def _points(n: int, seed: int):
    from explorer.bench.ui_store import blob_layout, synthetic_points

    rng = np.random.default_rng(seed)
    centres, widths = blob_layout(rng)
    blob, xy, score = synthetic_points(n, centres, widths, rng)
    columns = {
        "x": xy[:, 0].astype(np.float32),
        "y": xy[:, 1].astype(np.float32),
        "anomaly_score": score.astype(np.float32),
        "cluster": blob.astype(np.int32),
        "id": np.arange(1, n + 1, dtype=np.int64),
    }
    return columns, centres


def _measure_zoom(columns, index, views, field) -> tuple[dict, Any]:
    from explorer.app.render.map import MapRenderer, style_for

    n = len(columns["x"])
    values = np.ones(n) if field == "count" else columns[field]
    renderer, build_ms = _timed_ms(
        lambda: MapRenderer(None, None, values, style_for(field, values), index=index)
    )
    renderer.render(*views[0])  # the first render of a field is built off-loop
    times, cpu = [], []
    for view in views:
        start = time.process_time()
        times.append(_timed_ms(lambda v=view: renderer.render(*v))[1])
        cpu.append((time.process_time() - start) * 1000)
    return {
        "renderer_build_ms": round(build_ms, 1),
        "full_view_ms": round(times[0], 1),
        **_summary(times),
        # CPU time of this process per render: what a render costs with a
        # core to itself (wall time also waits for the other users' jobs)
        "cpu_median_ms": round(statistics.median(cpu), 1),
        "cpu_max_ms": round(max(cpu), 1),
    }, renderer


def _measure_datashader(columns, index, views, repeats: int = 3) -> dict:
    """datashader's ``Canvas.points`` (count, every point scanned) against
    this index's aggregation of the same views: aggregation only, both sides
    in this run."""
    import datashader as ds
    import pandas as pd

    from explorer.app.render import kernels
    from explorer.app.render.aggregate import aggregate_view
    from explorer.app.render.map import FRAME_HEIGHT, FRAME_WIDTH

    frame = pd.DataFrame({"x": columns["x"], "y": columns["y"]})

    def datashader(view):
        canvas = ds.Canvas(FRAME_WIDTH, FRAME_HEIGHT, x_range=view[0], y_range=view[1])
        return canvas.points(frame, "x", "y", agg=ds.count())

    def indexed(view):
        shape = (FRAME_HEIGHT, FRAME_WIDTH)
        return aggregate_view(index, index.xs, kernels.COUNT, *view, shape)

    out = {}
    for name, call in (("datashader", datashader), ("index", indexed)):
        call(views[0])  # compile
        for label, view in (("full", views[0]), ("deepest", views[len(views) // 2])):
            ms = [_timed_ms(lambda v=view, f=call: f(v))[1] for _ in range(repeats)]
            out[f"{name}_{label}_view_median_ms"] = round(statistics.median(ms), 1)
    out["note"] = "count aggregation only (no colour map, no spread)"
    return out


def _measure_boxes(columns, index, box_target: int, seed: int) -> dict:
    from explorer.app.data import points_in_box
    from explorer.bench.ui_store import box_around_median

    x, y = columns["x"], columns["y"]
    x64, y64 = x.astype(np.float64), y.astype(np.float64)
    view = [x.min(), x.max(), y.min(), y.max()]
    boxes = [box_around_median(x64, y64, box_target, view)]
    rng = np.random.default_rng(seed + 1)
    for _ in range(N_RANDOM_BOXES):
        corner = rng.uniform([view[0], view[2]], [view[1], view[3]])
        size = rng.uniform(0.5, 8.0, 2)
        boxes.append((*corner, *(corner + size)))
    index.count_in_box(boxes[0])  # compile
    count_ms, rows_ms, scan_ms, equal = [], [], [], True
    for box in boxes:
        count, ms = _timed_ms(lambda b=box: index.count_in_box(b))
        count_ms.append(ms)
        rows, ms = _timed_ms(lambda b=box: index.rows_in_box(b))
        rows_ms.append(ms)
        # what MapData.select_box does today: a mask over all rows
        scan, ms = _timed_ms(lambda b=box: np.flatnonzero(points_in_box(x64, y64, b)))
        scan_ms.append(ms)
        equal &= count == len(scan) and np.array_equal(rows, scan)
    first = index.count_in_box(boxes[0])
    return {
        "box_10pc": {
            "sources": int(first),
            "count_ms": round(count_ms[0], 1),
            "rows_ms": round(rows_ms[0], 1),
            "brute_force_scan_ms": round(scan_ms[0], 1),
        },
        "random_boxes": {
            "boxes": len(boxes) - 1,
            "count_median_ms": round(statistics.median(count_ms[1:]), 2),
            "count_max_ms": round(max(count_ms[1:]), 2),
            "rows_median_ms": round(statistics.median(rows_ms[1:]), 2),
            "brute_force_scan_median_ms": round(statistics.median(scan_ms[1:]), 1),
        },
        "index_equals_brute_force": bool(equal),
    }


def run_render_only(n: int, wheels: int, box_target: int, seed: int = 0) -> dict:
    """Measure the served map's render, box and glyph work on ``n`` points.

    Parameters
    ----------
    n : int
        Number of map points.
    wheels : int
        Wheel steps in (then out) per colour field.
    box_target : int
        Sources inside the measured box (the dashboard's box bench: 10 %).
    seed : int
        Seed of the synthetic map.

    Returns
    -------
    dict
        Timings (ms), memory (MiB) and the workload, with the machine's load.
    """
    from explorer.app.render.glyphs import TOP_ANOMALIES, top_anomaly_rows
    from explorer.app.render.grid_index import GridIndex
    from explorer.app.render.map import initial_ranges, warm_up

    load_start = os.getloadavg()
    # compile the kernels first (as the server does), so that the memory
    # added by the index is not confused with numba's
    warm_up(*np.random.default_rng(seed).normal(size=(2, 10_000)))
    rss_start, _ = _rss_mib()
    columns, centres = _points(n, seed)
    raw_mib = sum(a.nbytes for a in columns.values()) / 2**20
    rss_raw, _ = _rss_mib()
    index, index_ms = _timed_ms(lambda: GridIndex(columns["x"], columns["y"]))
    rss_index, _ = _rss_mib()
    views = zoom_views(initial_ranges(columns["x"], columns["y"]), centres[0], wheels)
    zoom, renderers = {}, []
    for field in FIELDS:
        zoom[field], renderer = _measure_zoom(columns, index, views, field)
        renderers.append(renderer)
    rss_renderers, peak = _rss_mib()
    scores, ids = columns["anomaly_score"], columns["id"]
    rows, glyph_ms = _timed_ms(lambda: top_anomaly_rows(scores, ids, TOP_ANOMALIES))
    return {
        "workload": {
            "kind": "synthetic map (24 Gaussian blobs), real render code path",
            "n_points": n,
            "dimension": 2,
            "cutout_size": None,
            "frame_px": [renderers[0].width, renderers[0].height],
            "wheel_steps": f"{wheels} in x{WHEEL_FACTOR} then {wheels} out",
            "seed": seed,
        },
        "index": {
            "build_ms": round(index_ms, 1),
            "cells_per_side": index.cells,
            "nbytes_mib": round(index.nbytes / 2**20, 1),
        },
        "zoom": zoom,
        "datashader_baseline": _measure_datashader(columns, index, views),
        "box": _measure_boxes(columns, index, box_target, seed),
        "top_anomaly_glyphs": {"k": int(len(rows)), "select_ms": round(glyph_ms, 1)},
        "memory_mib": {
            "raw_columns": round(raw_mib, 1),
            "rss_start": round(rss_start, 1),
            "rss_after_columns": round(rss_raw, 1),
            "index_added_rss": round(rss_index - rss_raw, 1),
            "index_and_renderers_added_rss": round(rss_renderers - rss_raw, 1),
            "peak_rss": round(peak, 1),
        },
        "loadavg_start": [round(v, 2) for v in load_start],
        "loadavg_end": [round(v, 2) for v in os.getloadavg()],
        "machine_shared": True,
        "note": "server-side only: a render here is what the map view computes "
        "per wheel event; the browser adds the RGBA frame transfer and blit "
        "(~40-60 ms at 1 M points in the browser bench). Both sides of each "
        "comparison (index vs datashader, index vs scan) ran in this run.",
    }
