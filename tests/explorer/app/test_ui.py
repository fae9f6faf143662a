"""The dashboard in a real browser, checked as a user would (marked ``ui``).

One ``latentsky serve`` per module on a copy of the analysed store; the
cluster test starts a second server on the same store to check persistence.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from ui_helpers import (
    TIMEOUT_MS,
    box_select,
    hover_until_cutout,
    open_app,
    open_tab,
    source_pixels,
    text_of,
)

pytestmark = pytest.mark.ui


def test_map_appears_and_hover_shows_cutout(page, server):
    plot = open_app(page, server.url)
    points = source_pixels(page, plot)
    text = hover_until_cutout(page, points)
    assert "id " in text and "Dec" in text and "anomaly score" in text
    image = page.locator(".hover-cutout img").first
    assert image.get_attribute("src").startswith("data:image/png")


def test_box_selection_fills_grid_and_metrics(page, server):
    plot = open_app(page, server.url)
    points = source_pixels(page, plot)
    box_select(page, plot)
    count = text_of(page, "selection-count")
    expect(count).to_contain_text("selected", timeout=TIMEOUT_MS)
    n_selected = int(count.text_content().split()[0].replace(",", ""))
    assert n_selected > 0
    tiles = page.locator(".selection-grid figure.tile")
    tiles.first.wait_for(timeout=TIMEOUT_MS)
    assert tiles.count() == min(n_selected, 48)
    score = page.locator(".tpcf-score").first
    score.wait_for(timeout=TIMEOUT_MS)
    assert "±" in score.text_content() or "n/a" in score.text_content()
    assert "Davies" in page.locator(".metrics-summary").first.text_content()
    # a lasso (triangle) around one drawn source selects a smaller set
    cx, cy = points[0]
    page.get_by_title("Lasso Select").first.click()
    page.mouse.move(cx - 30, cy - 25)
    page.mouse.down()
    for x, y in ((cx + 30, cy - 25), (cx, cy + 30), (cx - 30, cy - 24)):
        page.mouse.move(x, y, steps=4)
    page.mouse.up()
    expect(count).not_to_contain_text(f"{n_selected:,} sources", timeout=TIMEOUT_MS)
    expect(count).to_contain_text("selected")
    assert int(count.text_content().split()[0].replace(",", "")) < n_selected


def test_similar_panel_fills_after_clicks(page, server):
    plot = open_app(page, server.url)
    points = source_pixels(page, plot)
    # a click on a source of the map
    similar = page.locator(".similar-grid figure.tile")
    for x, y in points[:40:4]:
        page.mouse.click(x, y)
        try:
            similar.first.wait_for(timeout=2000)
            break
        except Exception:  # noqa: BLE001 - playwright TimeoutError: try another source
            continue
    assert similar.count() > 0
    header = text_of(page, "similar-header")
    expect(header).to_contain_text("most similar to source")
    # a positive mark, then refine
    page.locator(".similar-grid .act-\\+").first.click()
    page.get_by_role("button", name="Refine with marks").click()
    expect(header).to_contain_text("1 positive", timeout=TIMEOUT_MS)
    # a click on a grid image queries that source
    open_tab(page, "Selection")
    box_select(page, plot)
    tile = page.locator(".selection-grid figure.tile").first
    tile.wait_for(timeout=TIMEOUT_MS)
    clicked = tile.get_attribute("data-id")
    tile.locator("img").click()
    expect(header).to_contain_text(f"source {clicked}", timeout=TIMEOUT_MS)


def test_url_state_and_anomaly_review(page, server, served_store):
    view = "[-50.0,50.0,-40.0,40.0]"
    open_app(page, f"{server.url}?color=anomaly_score&view={view}")
    values = page.locator("select").evaluate_all("els => els.map(e => e.value)")
    assert "anomaly_score" in values and "v1" in values
    plot = page.locator(".bk-Canvas").first
    box = plot.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 3, box["y"] + box["height"] / 2)
    page.mouse.wheel(0, -240)
    page.wait_for_function(
        "v => location.search.includes('view=') && !location.search.includes(v)",
        arg="-50.0%2C",
        timeout=TIMEOUT_MS,
    )
    assert "color=anomaly_score" in page.evaluate("location.search")
    # the review queue: mark the most anomalous source interesting
    open_tab(page, "Anomalies")
    first = page.locator(".anomaly-grid figure.tile").first
    first.wait_for(timeout=TIMEOUT_MS)
    source_id = int(first.get_attribute("data-id"))
    first.locator(".act-★").click()
    # the learned queue re-ranks: the tally counts the label, the tile moves on
    expect(text_of(page, "hunt-tally")).to_contain_text("1 interesting")
    expect(
        page.locator(f".anomaly-grid figure.tile[data-id='{source_id}']")
    ).to_have_count(0)
    from explorer.store.annotations import Annotations

    tags = Annotations(served_store / "annotations.sqlite").tag_of([source_id])
    assert tags.iat[0] == "interesting"


def test_saved_cluster_persists_after_restart(page, server, served_store, start_server):
    # last test of the module: it stops the module's server
    plot = open_app(page, server.url)
    source_pixels(page, plot)
    box_select(page, plot)
    page.locator(".selection-grid figure.tile").first.wait_for(timeout=TIMEOUT_MS)
    n_selected = int(
        text_of(page, "selection-count").text_content().split()[0].replace(",", "")
    )
    open_tab(page, "Clusters")
    page.get_by_placeholder("e.g. rings").fill("central blob")
    page.get_by_placeholder("what these sources are").fill("from the browser test")
    page.get_by_role("button", name="Save selection as cluster").click()
    page.locator(".cluster-list").get_by_text("central blob").wait_for(
        timeout=TIMEOUT_MS
    )
    server.stop()
    from explorer.store.annotations import Annotations

    assert (
        len(Annotations(served_store / "annotations.sqlite").members("central blob"))
        == n_selected
    )

    second = start_server(served_store)
    open_app(page, second.url)
    open_tab(page, "Clusters")
    row = page.locator(".cluster-list tr", has_text="central blob")
    row.wait_for(timeout=TIMEOUT_MS)
    assert "from the browser test" in row.text_content()
