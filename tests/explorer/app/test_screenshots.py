"""One screenshot per dashboard tab (marked ``ui``), for the README gallery.

PNGs go to ``$LATENTSKY_SCREENSHOTS`` (``make screenshots`` sets
``assets/screenshots``) or the test's ``tmp_path``; each is scaled to 800 px
wide and must not be blank: enough pixels differ from the page background."""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytestmark = pytest.mark.ui

TIMEOUT_MS = 30_000
WIDTH_PX = 800
#: least share of the tab panel's pixels that differ from its background
MIN_CONTENT = 0.01
#: gap between the tab labels and the tab's panel (CSS px)
TAB_GAP_PX = 4
#: tab label -> (PNG name, something the tab shows once drawn)
TABS = {
    "Selection": ("selection", ".selection-grid figure.tile"),
    "Similar": ("similar", ".similar-header"),
    "Anomalies": ("anomalies", ".anomaly-grid figure.tile"),
    "Clusters": ("clusters", ".cluster-list"),
    "Re-embed": ("re-embed", ".job-status"),
    "Inspector": ("inspector", ".bk-tab.bk-active"),
    "Sky": ("sky", ".bk-tab.bk-active"),
    "Export & SAMP": ("export-samp", ".bk-tab.bk-active"),
}


def out_dir(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("LATENTSKY_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def content_share(image: Image.Image) -> float:
    """Share of pixels further than 24 (RGB max-abs) from the commonest colour."""
    rgb = np.asarray(image.convert("RGB")).astype(int)
    flat = rgb.reshape(-1, 3)
    colours, counts = np.unique(flat, axis=0, return_counts=True)
    background = colours[np.argmax(counts)]
    return float((np.abs(flat - background).max(axis=1) > 24).mean())


def test_content_share_tells_blank_from_drawn():
    blank = Image.new("RGB", (80, 60), (11, 13, 18))
    assert content_share(blank) == 0.0
    drawn = np.zeros((60, 80, 3), np.uint8)
    drawn[:, :20] = 200  # a quarter of the pixels
    assert content_share(Image.fromarray(drawn)) == pytest.approx(0.25)


def wait_for_sources(page, plot) -> None:
    """Wait until the map shows its sources (fire-coloured pixels)."""
    for _ in range(120):
        image = np.asarray(Image.open(io.BytesIO(plot.screenshot())).convert("RGB"))
        red, blue = image[..., 0].astype(int), image[..., 2].astype(int)
        if ((red > 110) & (red > blue + 60)).sum() > 20:
            return
        page.wait_for_timeout(250)
    raise AssertionError("the map never showed its sources")


def select_a_box(page, plot) -> None:
    """Box-select the middle of the map until the grid shows tiles (a drag sent
    while the page still settles can be lost: up to three tries)."""
    tiles = page.locator(".selection-grid figure.tile")
    for _ in range(3):
        page.get_by_title("Box Select").first.click()
        box = plot.bounding_box()
        page.mouse.move(box["x"] + box["width"] * 0.2, box["y"] + box["height"] * 0.1)
        page.mouse.down()
        x1, y1 = box["x"] + box["width"] * 0.7, box["y"] + box["height"] * 0.85
        page.mouse.move(x1, y1, steps=6)
        page.mouse.up()
        try:
            tiles.first.wait_for(timeout=TIMEOUT_MS // 2)
            return
        except Exception:  # noqa: BLE001 - playwright TimeoutError: drag again
            continue
    raise AssertionError("box selections never filled the grid")


@pytest.mark.parametrize("tab", list(TABS))
def test_screenshot_of_each_tab(page, server, tmp_path, tab):
    name, ready = TABS[tab]
    page.goto(server.url)
    page.get_by_title("Box Select").first.wait_for(timeout=TIMEOUT_MS)
    plot = page.locator(".bk-Canvas").first
    plot.wait_for(timeout=TIMEOUT_MS)
    wait_for_sources(page, plot)
    # a selection and a similar query, so the tabs show something
    select_a_box(page, plot)
    if tab == "Similar":
        page.locator(".selection-grid figure.tile img").first.click()
    if tab == "Inspector":  # the corner button of a tile inspects its source
        page.locator(".selection-grid figure.tile .inspect").first.click()
    page.locator(".bk-tab", has_text=tab).first.click()
    page.locator(ready).first.wait_for(timeout=TIMEOUT_MS)
    page.wait_for_timeout(1500)  # images and plots of the tab
    shot = Image.open(io.BytesIO(page.screenshot())).convert("RGB")
    # the tab's own panel (right of the map, below the row of tab labels) must
    # show something
    label = page.locator(".bk-tab").first.bounding_box()
    panel = shot.crop(
        (
            int(label["x"]),
            int(label["y"] + label["height"] + TAB_GAP_PX),
            shot.width,
            shot.height,
        )
    )
    image = shot.resize((WIDTH_PX, round(shot.height * WIDTH_PX / shot.width)))
    path = out_dir(tmp_path) / f"{name}.png"
    image.save(path, optimize=True)
    assert path.stat().st_size > 0 and image.width == WIDTH_PX
    share = content_share(panel)
    assert share > MIN_CONTENT, f"{tab} tab looks blank ({share:.1%} drawn)"
