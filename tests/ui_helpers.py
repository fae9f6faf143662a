"""What a user does in the dashboard, for the browser tests (``-m ui``).

Shared by ``tests/explorer/app/test_ui*.py``: open the app, find the drawn
sources on the map, read an HTML pane, switch tab, hover until a cutout
shows, box-select. ``pytest`` puts ``tests/`` on ``sys.path``
(``pythonpath`` in ``pyproject.toml``), so a test writes
``from ui_helpers import open_app``.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image
from playwright.sync_api import expect

#: How long a page may take to show the map (a cold server builds the session).
TIMEOUT_MS = 30_000


def open_app(page, url: str):
    """Load the dashboard and wait for the map; returns the map's canvas."""
    page.goto(url)
    page.get_by_title("Box Select").first.wait_for(timeout=TIMEOUT_MS)
    plot = page.locator(".bk-Canvas").first
    plot.wait_for(timeout=TIMEOUT_MS)
    return plot


def source_pixels(page, plot) -> list[tuple[float, float]]:
    """Page coordinates of drawn sources (bright fire-colour pixels in the
    frame), nearest the centre of the lit pixels first."""
    box = plot.bounding_box()
    for _ in range(40):
        image = np.asarray(Image.open(io.BytesIO(plot.screenshot())).convert("RGB"))
        red, blue = image[..., 0].astype(int), image[..., 2].astype(int)
        lit = (red > 110) & (red > blue + 60)
        lit[:, int(image.shape[1] * 0.75) :] = False  # the colour bar
        lit[:30] = False  # the title
        ys, xs = np.nonzero(lit)
        if len(xs) > 20:
            scale = box["width"] / image.shape[1]
            order = np.argsort(np.hypot(xs - xs.mean(), ys - ys.mean()))
            return [(box["x"] + xs[i] * scale, box["y"] + ys[i] * scale) for i in order]
        page.wait_for_timeout(250)
    raise AssertionError("no sources drawn on the map")


def open_tab(page, name: str) -> None:
    """Click the tab whose header says ``name``."""
    page.locator(".bk-tab", has_text=name).first.click()


def text_of(page, css_class: str):
    """The rendered text of an HTML pane (its content lives in a shadow root)."""
    return page.locator(f".{css_class} div").first


def hover_until_cutout(page, points) -> str:
    """Hover ``points`` in turn until the sidebar captions a cutout; returns
    the caption."""
    caption = text_of(page, "hover-caption")
    for x, y in points[:40:4]:
        page.mouse.move(x, y)
        page.mouse.move(x + 1, y)
        try:
            expect(caption).to_contain_text("RA", timeout=1500)
            return caption.text_content()
        except AssertionError:
            continue
    raise AssertionError("hovering sources never showed a cutout")


def box_select(page, plot) -> None:
    """Drag a box over most of the map with the Box Select tool.

    The drag starts inside the frame (20 % across, 10 % down): a press on the
    axis or the title would pan nothing and select nothing."""
    page.get_by_title("Box Select").first.click()
    box = plot.bounding_box()
    x0, y0 = box["x"] + box["width"] * 0.2, box["y"] + box["height"] * 0.1
    x1, y1 = box["x"] + box["width"] * 0.7, box["y"] + box["height"] * 0.85
    page.mouse.move(x0, y0)
    page.mouse.down()
    page.mouse.move((x0 + x1) / 2, (y0 + y1) / 2, steps=4)
    page.mouse.move(x1, y1, steps=4)
    page.mouse.up()
