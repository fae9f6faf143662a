"""The top-anomaly glyphs in a real browser (marked ``ui``): drawn above the
map, still there after zooming in on one, hidden by the map's toggle."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import expect
from ui_helpers import TIMEOUT_MS, open_app

from explorer.app.render.glyphs import TOP_ANOMALIES

pytestmark = pytest.mark.ui


def magenta_pixels(plot) -> np.ndarray:
    """``(n, 2)`` page coordinates (x, y) of the glyphs' magenta outline."""
    box = plot.bounding_box()
    image = np.asarray(Image.open(io.BytesIO(plot.screenshot())).convert("RGB"))
    red, green, blue = (image[..., c].astype(int) for c in range(3))
    # neither the count's fire palette nor viridis has blue and red high
    # with green low
    ys, xs = np.nonzero((red > 180) & (blue > 180) & (green < 90))
    scale = box["width"] / image.shape[1]
    return np.column_stack([box["x"] + xs * scale, box["y"] + ys * scale])


def wait_for(check, page, tries: int = 60):
    """Poll ``check()`` every 250 ms until it is truthy; returns its value."""
    for _ in range(tries):
        value = check()
        if value:
            return value
        page.wait_for_timeout(250)
    return check()


def test_glyphs_are_drawn_survive_zoom_and_the_toggle_hides_them(page, server):
    plot = open_app(page, server.url)
    drawn = wait_for(lambda: len(magenta_pixels(plot)) > 100, page)
    assert drawn, "no top-anomaly glyph drawn"
    found = magenta_pixels(plot)
    # zoom in with the wheel on one glyph: it stays drawn under the cursor
    gx, gy = found[len(found) // 2]
    page.mouse.move(float(gx), float(gy))
    before = page.url
    for _ in range(6):
        page.mouse.wheel(0, -240)
        page.wait_for_timeout(150)
    # the map re-rendered the zoomed view (the view is synced to the URL)
    assert wait_for(lambda: page.url != before and "view" in page.url, page)
    assert wait_for(lambda: len(magenta_pixels(plot)) > 10, page), "zoom hid the glyphs"
    # the checkbox is labelled by a sibling span, not a <label for>: by class
    toggle = page.locator(".top-anomalies-toggle input[type=checkbox]").first
    expect(page.locator(".top-anomalies-toggle").first).to_contain_text(
        f"top {TOP_ANOMALIES} anomalies"
    )
    toggle.wait_for(timeout=TIMEOUT_MS)
    assert toggle.is_checked()
    toggle.uncheck()
    assert wait_for(lambda: len(magenta_pixels(plot)) == 0, page), "toggle did not hide"
    toggle.check()
    assert wait_for(lambda: len(magenta_pixels(plot)) > 10, page), "toggle did not show"
