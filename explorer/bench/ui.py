"""``latentsky bench ui``: the dashboard in a real browser on a large store.

Builds (or reuses, ``--store``) a store of ``--n`` sources with a synthetic map
and embeddings (UMAP of a million points is the analysis benchmark's job, not
this one's): the cutouts are a small synthetic set repeated, the map a
mixture of Gaussian blobs, the embeddings random unit vectors tied to the blob.
Then it starts ``latentsky serve`` and drives headless chromium:

* ``first_paint_s``: ``page.goto`` → map pixels drawn in the canvas;
* ``zoom``: wheel event → first animation frame after the new map image
  arrived, in the page's clock (median/p90), plus the earlier signal, wheel →
  next large websocket frame seen by the driver (``frame_*``, counted as in
  ``shared/notes/fast-zoom.md``), and renders per wheel;
* ``hover``: mouse move onto a source → the cutout caption changes;
* ``box``: box drag over ~``--box`` sources → grid count shown, metrics shown;
* ``server_rss_mib``: resident memory of the server process at the end;

plus server-side timings measured in this process (map load + KD-tree,
box resolution, metrics of the box).
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: websocket frames at least this big carry a new map image
BIG_FRAME_BYTES = 100_000
FRAME_BG = (11, 13, 18)  # the map frame's background colour, #0b0d12


def add_arguments(parser: argparse.ArgumentParser) -> None:
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


# ------------------------------------------------------------------ store
def build_store(root: Path, n: int, size: int, seed: int = 0):
    """A store of ``n`` sources with one version ``bench`` (synthetic map)."""
    import pandas as pd

    from explorer.ingest.synthetic import make_cutouts
    from explorer.store import Store

    rng = np.random.default_rng(seed)
    base, base_catalog = make_cutouts(256, size=max(size, 16), seed=seed)
    if size < 16:  # the demo survey's smallest cutout is 16 px: bin it down
        factor = 16 // size
        base = (
            base[..., : size * factor, : size * factor]
            .reshape(len(base), base.shape[1], size, factor, size, factor)
            .mean(axis=(3, 5))
        )
    chunk = 16_384
    n_blobs = 24
    centres = rng.uniform(-10, 10, (n_blobs, 2))
    widths = rng.uniform(0.3, 1.2, n_blobs)
    with Store.build(
        root, ["g", "r", "z"], size, overwrite=True, source="bench ui"
    ) as builder:
        for start in range(0, n, chunk):
            m = min(chunk, n - start)
            rows = np.arange(start, start + m) % len(base)
            catalog = pd.DataFrame(
                {
                    "id": np.arange(start, start + m, dtype=np.int64) + 1,
                    "ra": rng.uniform(0, 360, m),
                    "dec": np.degrees(np.arcsin(rng.uniform(-1, 1, m))),
                    "mag_r": base_catalog["mag_r"].to_numpy()[rows],
                }
            )
            builder.append(base[rows], catalog)
    store = builder.store
    blob = rng.integers(0, n_blobs, n)
    xy = centres[blob] + rng.normal(size=(n, 2)) * widths[blob, None]
    score = np.hypot(*(xy - centres[blob]).T) / widths[blob]
    embeddings = rng.normal(size=(n, 16)).astype(np.float32)
    embeddings[np.arange(n), blob % 16] += 3.0
    embeddings /= np.linalg.norm(embeddings, axis=1, keepdims=True)
    table = pd.DataFrame(
        {
            "id": store.ids,
            "x": xy[:, 0].astype(np.float32),
            "y": xy[:, 1].astype(np.float32),
            "anomaly_score": score.astype(np.float32),
            "anomaly_rank": (np.argsort(np.argsort(-score)) + 1).astype(np.int32),
            "knn_distance": score.astype(np.float32),
            "density": (1 / (1 + score)).astype(np.float32),
            "cluster": blob.astype(np.int32),
        }
    )
    with store.new_version("bench", info={"embedding_dim": 16}) as tmp:
        np.save(tmp / "embeddings.npy", embeddings)
        table.to_parquet(tmp / "map.parquet", index=False)
        (tmp / "config.json").write_text(json.dumps({"features": "synthetic bench"}))
    return store


# ------------------------------------------------------------------ server
def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _start_server(store_root: Path, port: int, log_path: Path):
    latentsky = Path(sys.executable).with_name("latentsky")
    out = open(log_path, "wb")  # noqa: SIM115 - closed by the caller
    start = time.perf_counter()
    process = subprocess.Popen(
        [str(latentsky), "serve", str(store_root), "--port", str(port)],
        stdout=out,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/"
    while time.perf_counter() - start < 600:
        if process.poll() is not None:
            msg = f"server exited: {log_path.read_text()[-2000:]}"
            raise RuntimeError(msg)
        try:
            with urllib.request.urlopen(url, timeout=60) as response:
                if response.status == 200:
                    return process, out, url, time.perf_counter() - start
        except OSError:
            time.sleep(0.5)
    process.kill()
    raise RuntimeError("server did not start within 600 s")


# ------------------------------------------------------------------ browser
_LIT_PIXELS_JS = """
() => {
  const canvases = [];
  const walk = (root) => {
    for (const el of root.querySelectorAll('*')) {
      if (el.tagName === 'CANVAS') canvases.push(el);
      if (el.shadowRoot) walk(el.shadowRoot);
    }
  };
  walk(document);
  let best = 0;
  for (const c of canvases) {
    if (c.width < 300) continue;
    let data;
    try { data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; }
    catch (e) { continue; }
    let lit = 0;
    for (let i = 0; i < data.length; i += 16) {
      if (data[i] > 110 && data[i] > data[i + 2] + 60) lit++;
    }
    best = Math.max(best, lit);
  }
  return best;
}
"""


#: records, in the page's own clock, each wheel event and the first animation
#: frame painted after each new map image (a ColumnDataSource holding an
#: ``image`` column changed): wheel -> painted without the lag of relaying
#: websocket frames to the test driver
_ZOOM_PROBE_JS = """
() => {
  const z = window.__zoomProbe = {wheel: [], paint: []};
  document.addEventListener('wheel', () => z.wheel.push(performance.now()),
                            {capture: true, passive: true});
  const columns = (data) => data instanceof Map ? [...data.keys()] : Object.keys(data);
  let hooked = 0;
  for (const doc of (window.Bokeh ? window.Bokeh.documents : [])) {
    for (const model of doc.all_models) {
      if (model.type !== 'ColumnDataSource' || !model.data) continue;
      if (!columns(model.data).includes('image')) continue;
      model.properties.data.change.connect(() => {
        const painted = () => z.paint.push(performance.now());
        requestAnimationFrame(() => setTimeout(painted, 0));
      });
      hooked++;
    }
  }
  return hooked;
}
"""


def _frame_box(page, plot):
    """Page-pixel box ``(x0, y0, x1, y1)`` of the map's data frame."""
    from PIL import Image

    box = plot.bounding_box()
    image = np.asarray(Image.open(io.BytesIO(plot.screenshot())).convert("RGB"))
    bg = np.all(np.abs(image.astype(int) - FRAME_BG) <= 2, axis=-1)
    ys, xs = np.nonzero(bg)
    scale = box["width"] / image.shape[1]
    return (
        box["x"] + xs.min() * scale,
        box["y"] + ys.min() * scale,
        box["x"] + xs.max() * scale,
        box["y"] + ys.max() * scale,
    )


def _box_for(x: np.ndarray, y: np.ndarray, target: int, view) -> tuple:
    """A square data box around the densest blob holding about ``target`` points."""
    from scipy.optimize import brentq

    cx, cy = float(np.median(x)), float(np.median(y))
    span = min(view[1] - view[0], view[3] - view[2]) / 2 * 0.95

    def excess(half):
        inside = (np.abs(x - cx) <= half) & (np.abs(y - cy) <= half)
        return int(inside.sum()) - target

    half = brentq(excess, 1e-3, span, xtol=1e-3) if excess(span) > 0 else span
    return cx - half, cy - half, cx + half, cy + half


def measure_browser(url: str, data, args) -> dict:
    from playwright.sync_api import sync_playwright

    results: dict = {}
    frames: list[tuple[float, int]] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.on(
            "websocket",
            lambda ws: ws.on(
                "framereceived",
                lambda payload: frames.append((time.perf_counter(), len(payload))),
            ),
        )
        # first paint
        x0, x1 = float(data.x.min()), float(data.x.max())
        y0, y1 = float(data.y.min()), float(data.y.max())
        view = [x0 - 0.5, x1 + 0.5, y0 - 0.5, y1 + 0.5]
        start = time.perf_counter()
        page.goto(url + "?view=" + json.dumps(view).replace(" ", ""))
        page.wait_for_function(
            f"({_LIT_PIXELS_JS})() > 50", polling=100, timeout=120_000
        )
        results["first_paint_s"] = round(time.perf_counter() - start, 3)
        page.wait_for_timeout(1500)
        plot = page.locator(".bk-Canvas").first
        fx0, fy0, fx1, fy1 = _frame_box(page, plot)
        results["zoom"] = _measure_zoom(
            page, frames, (fx0 + fx1) / 2, (fy0 + fy1) / 2, args.wheels
        )
        page.goto(url + "?view=" + json.dumps(view).replace(" ", ""))
        page.wait_for_function(
            f"({_LIT_PIXELS_JS})() > 50", polling=100, timeout=120_000
        )
        page.wait_for_timeout(1000)
        results["hover"] = _measure_hover(page, data, view, (fx0, fy0, fx1, fy1))
        results["box"] = _measure_box(page, data, view, (fx0, fy0, fx1, fy1), args.box)
        browser.close()
    return results


def _to_page(view, frame, x, y):
    fx0, fy0, fx1, fy1 = frame
    px = fx0 + (x - view[0]) / (view[1] - view[0]) * (fx1 - fx0)
    py = fy1 - (y - view[2]) / (view[3] - view[2]) * (fy1 - fy0)
    return px, py


def _measure_zoom(page, frames, cx, cy, wheels: int) -> dict:
    """Zoom latency of ``wheels`` single wheel events, 1.2 s apart.

    ``median_ms``/``p90_ms``: wheel event -> first animation frame after the
    new image arrived, both in the page's clock (:data:`_ZOOM_PROBE_JS`).
    ``frame_median_ms``/``frame_p90_ms``: the earlier signal, wheel call ->
    first large websocket frame seen by the driver (it adds the time to relay
    the frame's payload to this process, which grows with the frame size).
    """
    hooked = page.evaluate(_ZOOM_PROBE_JS)
    page.mouse.move(cx, cy)
    latencies, paints, renders = [], [], []
    for i in range(wheels):
        page.wait_for_timeout(1200)
        before = len(frames)
        n_paint = page.evaluate("window.__zoomProbe.paint.length")
        start = time.perf_counter()
        page.mouse.wheel(0, -120 if i % 2 == 0 else 120)
        deadline = start + 5.0
        while time.perf_counter() < deadline:
            big = [t for t, size in frames[before:] if size >= BIG_FRAME_BYTES]
            if big:
                latencies.append((big[0] - start) * 1000)
                break
            page.wait_for_timeout(5)
        page.wait_for_timeout(1200)
        renders.append(sum(1 for t, s in frames[before:] if s >= BIG_FRAME_BYTES))
        probe = page.evaluate(
            "n => [window.__zoomProbe.wheel.at(-1), window.__zoomProbe.paint.slice(n)]",
            n_paint,
        )
        if hooked and probe[0] is not None and probe[1]:
            paints.append(probe[1][0] - probe[0])

    def stats(values):
        if not values:
            return None, None
        return (
            round(statistics.median(values), 1),
            round(float(np.percentile(values, 90)), 1),
        )

    median, p90 = stats(paints)
    frame_median, frame_p90 = stats(latencies)
    return {
        "median_ms": median,
        "p90_ms": p90,
        "frame_median_ms": frame_median,
        "frame_p90_ms": frame_p90,
        "renders_per_wheel": round(float(np.mean(renders)), 2) if renders else None,
        "wheels": wheels,
        "answered": len(paints),
        "signal": "wheel event -> first animation frame after the new map image "
        "(page clock); frame_*: wheel call -> first websocket frame >= "
        f"{BIG_FRAME_BYTES} bytes seen by the driver",
    }


def _caption_handle(page):
    return page.locator(".hover-caption div").first.element_handle()


def _measure_hover(page, data, view, frame) -> dict:
    rng = np.random.default_rng(1)
    times = []
    handle = _caption_handle(page)
    inside = np.flatnonzero((data.x > view[0]) & (data.x < view[1]))
    for row in rng.choice(inside, 8, replace=False):
        px, py = _to_page(view, frame, data.x[row], data.y[row])
        old = handle.evaluate("el => el.textContent")
        start = time.perf_counter()
        page.mouse.move(px, py)
        try:
            page.wait_for_function(
                "([el, old]) => el.textContent !== old",
                arg=[handle, old],
                polling="raf",
                timeout=5000,
            )
            times.append((time.perf_counter() - start) * 1000)
        except Exception:  # noqa: BLE001 - the nearest source was already shown
            pass
        page.wait_for_timeout(300)
    return {
        "median_ms": round(statistics.median(times), 1) if times else None,
        "max_ms": round(max(times), 1) if times else None,
        "moves": len(times),
    }


def _measure_box(page, data, view, frame, target: int) -> dict:
    bx0, by0, bx1, by1 = _box_for(data.x, data.y, target, view)
    expected = int(
        ((data.x >= bx0) & (data.x <= bx1) & (data.y >= by0) & (data.y <= by1)).sum()
    )
    p0 = _to_page(view, frame, bx0, by1)
    p1 = _to_page(view, frame, bx1, by0)
    page.get_by_title("Box Select").first.click()
    count = page.locator(".selection-count div").first.element_handle()
    metrics = page.locator(".metrics-panel div").first.element_handle()
    page.mouse.move(*p0)
    page.mouse.down()
    page.mouse.move((p0[0] + p1[0]) / 2, (p0[1] + p1[1]) / 2, steps=3)
    page.mouse.move(*p1, steps=3)
    start = time.perf_counter()
    page.mouse.up()
    page.wait_for_function(
        "el => el.textContent.includes('selected')",
        arg=count,
        polling="raf",
        timeout=60_000,
    )
    grid_s = time.perf_counter() - start
    page.wait_for_function(
        "el => el.textContent.includes('TPCF')",
        arg=metrics,
        polling="raf",
        timeout=120_000,
    )
    metrics_s = time.perf_counter() - start
    shown = count.evaluate("el => el.textContent")
    return {
        "expected_sources": expected,
        "shown": shown.strip(),
        "grid_s": round(grid_s, 3),
        "grid_and_metrics_s": round(metrics_s, 3),
    }


# ------------------------------------------------------------------ server side
def measure_server_side(store, box_target: int) -> dict:
    from explorer.app.data import MapData
    from explorer.app.scores import selection_scores

    # import scikit-learn etc. first, as the server's warm-up does
    selection_scores(
        store.embeddings(), np.arange(min(store.n_sources, 100)), max_rest=1000
    )
    start = time.perf_counter()
    data = MapData(store, store.current_version)
    load_s = time.perf_counter() - start
    view = [data.x.min(), data.x.max(), data.y.min(), data.y.max()]
    bounds = _box_for(data.x, data.y, box_target, view)
    start = time.perf_counter()
    rows = data.select_box(bounds)
    box_ms = (time.perf_counter() - start) * 1000
    start = time.perf_counter()
    data.nearest(float(data.x[0]), float(data.y[0]), 0.01)
    nearest_ms = (time.perf_counter() - start) * 1000
    start = time.perf_counter()
    selection_scores(data.embeddings, rows, clusters=data.table["cluster"].to_numpy())
    metrics_s = time.perf_counter() - start
    return {
        "map_load_and_kdtree_s": round(load_s, 2),
        "box_resolve_ms": round(box_ms, 1),
        "box_sources": int(len(rows)),
        "nearest_ms": round(nearest_ms, 2),
        "metrics_s": round(metrics_s, 2),
    }, data


def run(args: argparse.Namespace) -> Path:
    from explorer.bench import write_result
    from explorer.store import Store, is_store

    logging.basicConfig(level=logging.INFO)
    temp = None
    if args.store:
        root = Path(args.store)
    else:
        temp = Path(tempfile.mkdtemp(prefix="latentsky-bench-ui-"))
        root = temp / "store"
    try:
        build_s = None
        if (
            is_store(root)
            and Store.open(root).n_sources == args.n
            and Store.open(root).current_version
        ):
            store = Store.open(root)
        else:
            start = time.perf_counter()
            store = build_store(root, args.n, args.size)
            build_s = round(time.perf_counter() - start, 1)
            log.info("built the bench store in %.1f s", build_s)
        server_side, data = measure_server_side(store, args.box)
        port = args.port or _free_port()
        log_path = root.parent / "bench-ui-server.log"
        process, out, url, start_s = _start_server(root, port, log_path)
        try:
            browser = measure_browser(url, data, args)
            rss = _rss_mib(process.pid)
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
            out.close()
        results = {
            "n_sources": store.n_sources,
            "cutout_size": store.cutout_size,
            "store_build_s": build_s,
            "server_start_to_http_200_s": round(start_s, 1),
            "server_rss_mib": round(rss, 1),
            **browser,
            "server_side": server_side,
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
