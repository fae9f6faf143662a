"""The UI benchmark's browser side: headless chromium driven by Playwright.

Each measurement drives the page as a user would and waits for what the user
sees (canvas pixels, caption text, counts), timing it in the driver's clock
or, for zoom, in the page's own clock.
"""

from __future__ import annotations

import io
import json
import statistics
import time
from typing import Any

import numpy as np

from explorer.bench.ui_store import box_around_median

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
#: a page shows the map once this many bright canvas pixels (sampled) are lit
LIT_PIXELS = 50


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


Box = tuple[float, float, float, float]


def _frame_box(plot) -> Box:
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


def _open_map(page, url: str, view: list[float]) -> None:
    """Load the dashboard at ``view`` and wait until map pixels are drawn."""
    page.goto(url + "?view=" + json.dumps(view).replace(" ", ""))
    page.wait_for_function(
        f"({_LIT_PIXELS_JS})() > {LIT_PIXELS}", polling=100, timeout=120_000
    )


def _record_frames(page, frames: list[tuple[float, int]]) -> None:
    """Append ``(driver time, size)`` of every websocket frame to ``frames``."""
    page.on(
        "websocket",
        lambda ws: ws.on(
            "framereceived",
            lambda payload: frames.append((time.perf_counter(), len(payload))),
        ),
    )


def measure_browser(url: str, data, wheels: int, box: int) -> dict[str, Any]:
    """First paint, zoom, hover and box-selection timings in headless chromium.

    Parameters
    ----------
    url : str
        The served dashboard.
    data : explorer.app.data.MapData
        The served map (``x``/``y`` place the mouse on sources).
    wheels : int
        Zoom events measured.
    box : int
        About this many sources inside the measured box selection.

    Returns
    -------
    dict
        ``{"first_paint_s", "zoom", "hover", "box"}``.
    """
    from playwright.sync_api import sync_playwright

    results: dict[str, Any] = {}
    frames: list[tuple[float, int]] = []
    x0, x1 = float(data.x.min()), float(data.x.max())
    y0, y1 = float(data.y.min()), float(data.y.max())
    view = [x0 - 0.5, x1 + 0.5, y0 - 0.5, y1 + 0.5]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        _record_frames(page, frames)
        start = time.perf_counter()
        _open_map(page, url, view)
        results["first_paint_s"] = round(time.perf_counter() - start, 3)
        page.wait_for_timeout(1500)
        frame = _frame_box(page.locator(".bk-Canvas").first)
        centre = ((frame[0] + frame[2]) / 2, (frame[1] + frame[3]) / 2)
        results["zoom"] = _measure_zoom(page, frames, centre, wheels)
        # zooming moved the view: start the pointer measurements afresh
        _open_map(page, url, view)
        page.wait_for_timeout(1000)
        results["hover"] = _measure_hover(page, data, view, frame)
        results["box"] = _measure_box(page, data, view, frame, box)
        browser.close()
    return results


def _to_page(view, frame: Box, x: float, y: float) -> tuple[float, float]:
    """Page pixel of map point ``(x, y)`` (``view`` = x0, x1, y0, y1)."""
    fx0, fy0, fx1, fy1 = frame
    px = fx0 + (x - view[0]) / (view[1] - view[0]) * (fx1 - fx0)
    py = fy1 - (y - view[2]) / (view[3] - view[2]) * (fy1 - fy0)
    return px, py


def _median_p90(values: list[float]) -> tuple[float | None, float | None]:
    if not values:
        return None, None
    return (
        round(statistics.median(values), 1),
        round(float(np.percentile(values, 90)), 1),
    )


def _one_wheel(page, frames, down: bool) -> tuple[float | None, int, float | None]:
    """One wheel event: ``(frame latency ms, renders, painted latency ms)``."""
    before = len(frames)
    n_paint = page.evaluate("window.__zoomProbe.paint.length")
    start = time.perf_counter()
    page.mouse.wheel(0, -120 if down else 120)
    latency = None
    deadline = start + 5.0
    while time.perf_counter() < deadline:
        big = [t for t, size in frames[before:] if size >= BIG_FRAME_BYTES]
        if big:
            latency = (big[0] - start) * 1000
            break
        page.wait_for_timeout(5)
    page.wait_for_timeout(1200)
    renders = sum(1 for t, s in frames[before:] if s >= BIG_FRAME_BYTES)
    probe = page.evaluate(
        "n => [window.__zoomProbe.wheel.at(-1), window.__zoomProbe.paint.slice(n)]",
        n_paint,
    )
    painted = probe[1][0] - probe[0] if probe[0] is not None and probe[1] else None
    return latency, renders, painted


def _measure_zoom(page, frames, centre: tuple[float, float], wheels: int) -> dict:
    """Zoom latency of ``wheels`` single wheel events, 1.2 s apart.

    ``median_ms``/``p90_ms``: wheel event -> first animation frame after the
    new image arrived, both in the page's clock (:data:`_ZOOM_PROBE_JS`).
    ``frame_median_ms``/``frame_p90_ms``: the earlier signal, wheel call ->
    first large websocket frame seen by the driver (it adds the time to relay
    the frame's payload to this process, which grows with the frame size).
    """
    hooked = page.evaluate(_ZOOM_PROBE_JS)
    page.mouse.move(*centre)
    latencies, paints, renders = [], [], []
    for i in range(wheels):
        page.wait_for_timeout(1200)
        latency, n_renders, painted = _one_wheel(page, frames, down=i % 2 == 0)
        if latency is not None:
            latencies.append(latency)
        renders.append(n_renders)
        if hooked and painted is not None:
            paints.append(painted)
    median, p90 = _median_p90(paints)
    frame_median, frame_p90 = _median_p90(latencies)
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


def _measure_hover(page, data, view, frame: Box) -> dict[str, Any]:
    """Mouse move onto 8 random visible sources -> the cutout caption changes."""
    rng = np.random.default_rng(1)
    times = []
    handle = page.locator(".hover-caption div").first.element_handle()
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


def _drag_box(page, p0: tuple[float, float], p1: tuple[float, float]) -> None:
    """Press at ``p0`` and move to ``p1`` with the box-select tool (no release)."""
    page.get_by_title("Box Select").first.click()
    page.mouse.move(*p0)
    page.mouse.down()
    page.mouse.move((p0[0] + p1[0]) / 2, (p0[1] + p1[1]) / 2, steps=3)
    page.mouse.move(*p1, steps=3)


def _measure_box(page, data, view, frame: Box, target: int) -> dict[str, Any]:
    """Box drag over ~``target`` sources -> grid count shown, metrics shown."""
    bx0, by0, bx1, by1 = box_around_median(data.x, data.y, target, view)
    expected = int(
        ((data.x >= bx0) & (data.x <= bx1) & (data.y >= by0) & (data.y <= by1)).sum()
    )
    count = page.locator(".selection-count div").first.element_handle()
    metrics = page.locator(".metrics-panel div").first.element_handle()
    _drag_box(page, _to_page(view, frame, bx0, by1), _to_page(view, frame, bx1, by0))
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
