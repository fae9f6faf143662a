"""The dashboard as an astronomer reads it, in a real browser (marked ``ui``):
similar results to act on, a map whose chrome hides nothing, hover on empty
space, and the grid reviewed from the keyboard.

One ``latentsky serve`` for the module (the ``server`` fixture)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from ui_helpers import TIMEOUT_MS, box_select, open_app, source_pixels, text_of

pytestmark = pytest.mark.ui

TOOLS = ("Pan", "Box Select", "Lasso Select", "Wheel Zoom", "Tap", "Reset")


def click_until_similar(page, points):
    tiles = page.locator(".similar-grid figure.tile")
    for x, y in points[:40:4]:
        page.mouse.click(x, y)
        try:
            tiles.nth(1).wait_for(timeout=2000)
            return tiles
        except Exception:  # noqa: BLE001 - playwright TimeoutError: another source
            continue
    raise AssertionError("no click on the map gave similar images")


def test_similar_results_are_captioned_marked_and_selectable(page, server):
    plot = open_app(page, server.url)
    tiles = click_until_similar(page, source_pixels(page, plot))
    query = tiles.first
    expect(query).to_have_class("tile mark-query")
    assert query.locator("figcaption").text_content().startswith("query ")
    lines = tiles.nth(1).locator("figcaption").inner_text().splitlines()
    assert len(lines) == 3 and lines[0].isdigit() and lines[2].startswith("sim ")
    ra, dec = (float(v) for v in lines[1].split())
    assert 0 <= ra < 360 and -90 <= dec <= 90
    # a + mark outlines its tile at once
    tiles.nth(2).locator(".act-\\+").click()
    expect(tiles.nth(2)).to_have_class("tile mark-positive", timeout=1500)
    n_tiles = tiles.count()
    page.get_by_role("button", name="Select these").click()
    page.locator(".bk-tab", has_text="Selection").first.click()
    count = text_of(page, "selection-count")
    expect(count).to_contain_text(f"{n_tiles} sources selected", timeout=TIMEOUT_MS)


def test_every_tool_is_visible_and_the_title_has_its_own_line(page, server):
    open_app(page, f"{server.url}?color=pixel_knn_distance")
    for title in TOOLS:
        expect(page.get_by_title(title, exact=True).first).to_be_visible()
    overflow = page.locator(".bk-tool-overflow")
    for i in range(overflow.count()):
        expect(overflow.nth(i)).to_be_hidden()
    title = page.locator(".map-title").first
    expect(title).to_contain_text("pixel_knn_distance", timeout=TIMEOUT_MS)
    assert "pixel_knn_distance" in title.get_attribute("title")


def test_constant_field_and_no_saved_clusters_explain_themselves(page, server):
    open_app(page, f"{server.url}?color=n_masked")
    legend = page.locator(".map-legend").first
    expect(legend).to_contain_text("for every source", timeout=TIMEOUT_MS)
    open_app(page, f"{server.url}?color=saved_cluster")
    expect(page.locator(".map-legend").first).to_contain_text(
        "no saved clusters yet", timeout=TIMEOUT_MS
    )


def test_hover_on_empty_space_clears_the_cutout(page, server):
    plot = open_app(page, server.url)
    points = source_pixels(page, plot)
    image = page.locator(".hover-cutout img")
    for x, y in points[:40:4]:
        page.mouse.move(x, y)
        page.mouse.move(x + 1, y)
        try:
            expect(image).to_have_count(1, timeout=1500)
            break
        except AssertionError:
            continue
    expect(image).to_have_count(1)
    box = plot.bounding_box()
    # the plot's padding (3 % of the map's span) holds no source
    page.mouse.move(box["x"] + box["width"] * 0.72, box["y"] + 3)
    page.mouse.move(box["x"] + box["width"] * 0.72 - 1, box["y"] + 4)
    expect(image).to_have_count(0, timeout=TIMEOUT_MS)


def test_grid_order_direction_and_keyboard_review(page, server, served_store):
    plot = open_app(page, server.url)
    source_pixels(page, plot)
    box_select(page, plot)
    tiles = page.locator(".selection-grid figure.tile")
    tiles.first.wait_for(timeout=TIMEOUT_MS)
    expect(page.locator(".grid-keys")).to_contain_text("interesting")
    label = text_of(page, "grid-page")
    page.locator("body").click(position={"x": 5, "y": 5})  # focus off any widget
    page.keyboard.press("ArrowRight")
    expect(label).to_contain_text("page 2 /", timeout=TIMEOUT_MS)
    page.get_by_role("button", name="↑ smallest first").click()
    expect(label).to_contain_text("page 1 /", timeout=TIMEOUT_MS)
    page.locator("body").click(position={"x": 5, "y": 5})
    page.keyboard.press("j")
    expect(tiles.nth(1)).to_have_class("tile mark-cursor", timeout=TIMEOUT_MS)
    source_id = int(tiles.nth(1).get_attribute("data-id"))
    page.keyboard.press("i")
    expect(tiles.nth(1)).to_have_class("tile mark-interesting", timeout=TIMEOUT_MS)
    from explorer.store.annotations import Annotations

    tags = Annotations(served_store / "annotations.sqlite").tag_of([source_id])
    assert tags.iat[0] == "interesting"
