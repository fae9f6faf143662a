"""``latentsky bench ui``: the dashboard in a real browser on a large store.

Builds (or reuses, ``--store``) a store of ``--n`` sources with a synthetic map
and embeddings (UMAP of a million points is the analysis benchmark's job, not
this one's): the cutouts are a small synthetic set repeated, the map a
mixture of Gaussian blobs, the embeddings random unit vectors tied to the blob.
Then it starts ``latentsky serve`` and drives headless chromium:

* ``first_paint_s``: ``page.goto`` → map pixels drawn in the canvas;
* ``zoom``: wheel event → first animation frame after the new map image
  arrived, in the page's clock (median/p90), plus the earlier signal, wheel →
  next large websocket frame seen by the driver (``frame_*``: a render is
  one large inbound frame), and renders per wheel;
* ``hover``: mouse move onto a source → the cutout caption changes;
* ``box``: box drag over ~``--box`` sources → grid count shown, metrics shown;
* ``server_rss_mib``: resident memory of the server process at the end;

plus server-side timings measured in this process (map load + KD-tree,
box resolution, metrics of the box).

``--render-only`` (for ``--n 10000000``, where neither the store nor the
browser fits this machine) skips both and measures the served map's render,
box and glyph code in-process (:mod:`explorer.bench.ui_render`), written as
``ui-<n>-<date>.json`` (``ui-10m-...``).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import tempfile
import time
from pathlib import Path

from explorer.bench.ui_browser import CHROMIUM, CHROMIUM_ARGS, measure_browser
from explorer.bench.ui_server import (
    free_port,
    measure_server_side,
    rss_mib,
    start_server,
    stop_server,
)
from explorer.bench.ui_store import build_store
from explorer.store import Store, is_store

log = logging.getLogger(__name__)

__all__ = [
    "CHROMIUM",
    "CHROMIUM_ARGS",
    "add_arguments",
    "build_store",
    "measure_browser",
    "measure_server_side",
    "run",
]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags of the ui benchmark (``--out`` is added by the dispatcher)."""
    parser.add_argument("--n", type=int, default=1_000_000, help="number of sources")
    parser.add_argument("--size", type=int, default=8, help="cutout side in pixels")
    parser.add_argument(
        "--store",
        default=None,
        help="store directory to build or reuse (default: a temp dir)",
    )
    parser.add_argument("--wheels", type=int, default=10, help="zoom events measured")
    parser.add_argument(
        "--box",
        type=int,
        default=100_000,
        help="sources inside the measured box selection",
    )
    parser.add_argument("--port", type=int, default=0, help="server port (0 = free)")
    parser.add_argument(
        "--render-only",
        action="store_true",
        help="no store and no browser: the map's render, box and glyph code "
        "on a synthetic map of --n points (for 10 M points), written as "
        "ui-<n>-<date>.json",
    )


def _open_or_build(root: Path, n: int, size: int) -> tuple[Store, float | None]:
    """Reuse the store at ``root`` if it has ``n`` sources and a version.

    Returns the store and the seconds spent building it (``None`` if reused).
    """
    if is_store(root):
        store = Store.open(root)
        if store.n_sources == n and store.current_version:
            return store, None
    start = time.perf_counter()
    store = build_store(root, n, size)
    build_s = round(time.perf_counter() - start, 1)
    log.info("built the bench store in %.1f s", build_s)
    return store, build_s


def _measure(store: Store, root: Path, args: argparse.Namespace) -> dict:
    """Server-side timings, then a served dashboard driven in the browser."""
    server_side, data = measure_server_side(store, args.box)
    port = args.port or free_port()
    log_path = root.parent / "bench-ui-server.log"
    process, out, url, start_s = start_server(root, port, log_path)
    try:
        browser = measure_browser(url, data, args.wheels, args.box)
        rss = rss_mib(process.pid)
    finally:
        stop_server(process, out)
    return {
        "server_start_to_http_200_s": round(start_s, 1),
        "server_rss_mib": round(rss, 1),
        **browser,
        "server_side": server_side,
    }


def size_label(n: int) -> str:
    """``10m``, ``1m``, ``250k`` or ``500``: ``n`` in a file name."""
    for unit, suffix in ((1_000_000, "m"), (1_000, "k")):
        if n >= unit and n % unit == 0:
            return f"{n // unit}{suffix}"
    return str(n)


def _run_render_only(args: argparse.Namespace) -> Path:
    from explorer.bench import write_result
    from explorer.bench.ui_render import run_render_only

    if args.n < 1:
        from explorer.errors import LatentskyError

        msg = f"--n must be a positive number of sources, got {args.n}"
        raise LatentskyError(msg)
    results = run_render_only(args.n, args.wheels, min(args.box, args.n))
    log.info("results: %s", json.dumps(results, indent=1))
    return write_result(
        f"ui-{size_label(args.n)}",
        results,
        args.out,
        device=f"cpu ({os.cpu_count()} cores), shared",
    )


def run(args: argparse.Namespace) -> Path:
    """Run the benchmark and write ``ui-<date>.json`` under ``args.out``."""
    from explorer.bench import write_result

    logging.basicConfig(level=logging.INFO)
    if args.render_only:
        return _run_render_only(args)
    temp = None
    if args.store:
        root = Path(args.store)
    else:
        temp = Path(tempfile.mkdtemp(prefix="latentsky-bench-ui-"))
        root = temp / "store"
    try:
        store, build_s = _open_or_build(root, args.n, args.size)
        results = {
            "n_sources": store.n_sources,
            "cutout_size": store.cutout_size,
            "store_build_s": build_s,
            **_measure(store, root, args),
            "note": "synthetic map/embeddings; cutouts a repeated set of 256; "
            f"browser: headless {CHROMIUM} on this machine's CPU cores",
        }
        log.info("results: %s", json.dumps(results, indent=1))
        return write_result(
            "ui", results, args.out, device=f"cpu ({os.cpu_count()} cores)"
        )
    finally:
        if temp is not None:
            shutil.rmtree(temp, ignore_errors=True)
