"""Views built without a server: every colour field draws, the layout builds,
version switching resets the session, saved clusters become a colour field."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from explorer.app import data as mapdata
from explorer.app.main import create_app
from explorer.app.scores import selection_scores
from explorer.app.state import AppState
from explorer.app.views.map import (
    MapView,
    _field_values,
    colorize,
    palette_rgba,
    style_for,
)
from explorer.app.views.metrics import summary_html
from explorer.store import Store
from explorer.store.annotations import Annotations


@pytest.fixture(autouse=True, scope="module")
def _bokeh_backend():
    from explorer.app.main import extension

    extension()


def test_switching_version_resets_the_session(two_version_store):
    store = Store.open(two_version_store)
    assert store.versions == ["v1", "v2"] and store.current_version == "v2"
    state = AppState(store)
    view = MapView(state)
    assert mapdata.NEIGHBOURHOOD_CHANGE in state.param.color_field.objects
    change = _field_values(state, mapdata.NEIGHBOURHOOD_CHANGE)
    assert change.shape == (store.n_sources,)
    assert ((change >= 0) & (change <= 1)).all()
    state.color_field = "anomaly_score"
    state.select_box((-1e9, -1e9, 1e9, 1e9))
    state.version = "v1"
    assert len(state.selection_ids) == 0  # a selection belongs to one map
    assert mapdata.NEIGHBOURHOOD_CHANGE not in state.param.color_field.objects
    assert state.color_field == "anomaly_score"
    assert "version v1" in view.figure.title.text


def test_every_colour_field_renders(analysed_store):
    state = AppState(Store.open(analysed_store))
    view = MapView(state)
    figure = view.figure
    assert figure.frame_width == 500 and figure.frame_height == 450
    assert figure.lod_timeout == 0 and figure.lod_interval == 0
    for field in state.param.color_field.objects:
        renders, changed = view.renders, field != state.color_field
        state.color_field = field
        assert view.renders == renders + changed, field
        image = view._image_source.data["image"][0]
        assert image.shape == (450, 500) and image.dtype == np.uint32
        assert (image >> 24).astype(bool).sum() > 50, field  # opaque pixels drawn
        bar = view._color_bar
        assert field in bar.title or "sources" in bar.title
        assert (
            bar.color_mapper.palette
            == style_for(field, _field_values(state, field))["opts"]["cmap"]
        )
        assert field in figure.title.text


def test_colorize_matches_bokeh_mappers():
    palette = palette_rgba(["#000001", "#000002", "#000003", "#000004"])
    agg = np.array([[-1.0, 0.5, 1.0, 3.99, 4.0, np.nan]])
    image = colorize(agg, palette, 0.0, 4.0)
    # floor((v - low) / (high - low) * 4), clipped; NaN transparent
    assert ((image[0, :5] >> 16) & 0xFF).tolist() == [1, 1, 2, 4, 4]
    assert (image[0, :5] >> 24 == 255).all() and image[0, 5] == 0
    two = palette_rgba(["#ff0000", "#00ff00"])
    counts = np.array([[0, 1, 5, 20, 100]])
    logged = colorize(counts, two, 1.0, 100.0, log=True)
    # log10: 0, 0.35, 0.65, 1 of the way from 1 to 100
    assert logged[0, 0] == 0
    assert [int(v & 0xFF) for v in logged[0, 1:]] == [255, 255, 0, 0]
    with pytest.raises(ValueError, match="high > low"):
        colorize(agg, palette, 1.0, 1.0)
    with pytest.raises(ValueError, match="low > 0"):
        colorize(agg, palette, 0.0, 1.0, log=True)


def test_zoom_renders_once_and_updates_view(analysed_store):
    state = AppState(Store.open(analysed_store))
    view = MapView(state)
    x, y = state.data.x, state.data.y
    cx, cy = float(np.median(x)), float(np.median(y))
    renders = view.renders
    view.figure.x_range.update(start=cx - 0.5, end=cx + 0.5)
    view.figure.y_range.update(start=cy - 0.5, end=cy + 0.5)
    assert view.renders > renders
    data = view._image_source.data
    assert data["x"] == [cx - 0.5] and data["dw"] == [1.0]
    assert state.view == [float(f"{v:.6g}") for v in (cx - 0.5, cx + 0.5)] + [
        float(f"{v:.6g}") for v in (cy - 0.5, cy + 0.5)
    ]
    # the count colour bar follows the render's own range
    bar = view._color_bar.color_mapper
    image_max = int(
        ((np.abs(x - cx) <= 0.5) & (np.abs(y - cy) <= 0.5)).sum()
    )  # an upper bound of the densest pixel
    assert bar.low == 1.0 and 2.0 <= bar.high <= max(image_max, 2)


def test_map_events_select_hover_and_tap(analysed_store):
    from bokeh import events

    state = AppState(Store.open(analysed_store))
    view = MapView(state)
    data = state.data
    fig = view.figure
    x0, x1 = np.percentile(data.x, [20, 80])
    y0, y1 = np.percentile(data.y, [20, 80])
    geometry = {"type": "rect", "x0": x0, "x1": x1, "y0": y0, "y1": y1}
    view._on_selection(events.SelectionGeometry(fig, geometry=geometry, final=False))
    assert len(state.selection_ids) == 0  # only the final geometry selects
    view._on_selection(events.SelectionGeometry(fig, geometry=geometry, final=True))
    inside = (data.x >= x0) & (data.x <= x1) & (data.y >= y0) & (data.y <= y1)
    assert sorted(state.selection_ids) == sorted(data.ids[inside])
    assert view._outline_source.data["x"][0] == view._outline_source.data["x"][-1]
    poly = {"type": "poly", "x": [x0, x1, x0], "y": [y0, y0, y1]}
    view._on_selection(events.SelectionGeometry(fig, geometry=poly, final=True))
    assert 0 < len(state.selection_ids) < inside.sum()
    row = 7
    px, py = float(data.x[row]), float(data.y[row])
    view._on_pointer(events.MouseMove(fig, x=px, y=py, sx=0, sy=0))
    assert state.hovered_id == int(data.ids[row])
    view._on_tap(events.Tap(fig, x=px, y=py, sx=0, sy=0))
    assert state.similar_query_ids == [int(data.ids[row])]


def test_anomaly_and_cluster_overlays(analysed_store_copy):
    store = Store.open(analysed_store_copy)
    state = AppState(store)
    view = MapView(state)
    assert len(view._anomaly_source.data["x"]) == 0
    state.param.update(show_anomalies=True, anomaly_k=5)
    rows = state.top_anomalies(5)
    assert list(view._anomaly_source.data["x"]) == list(state.data.x[rows])
    Annotations.of_store(store).save_cluster("pair", store.ids[:2])
    state.shown_cluster = "pair"
    assert list(view._cluster_source.data["y"]) == list(state.data.y[:2])


def test_style_for_fields():
    values = np.array([-1.0, 0.0, 3.0, np.nan])
    style = style_for("cluster", values)
    assert len(style["opts"]["cmap"]) == 5  # grey + 4 clusters
    assert style["opts"]["clim"] == (-1.5, 3.5)
    # cluster k lands on palette entry k + 1 of the colour bar's mapper
    palette = palette_rgba(style["opts"]["cmap"])
    image = colorize(values[None, :3], palette, *style["opts"]["clim"])
    assert image[0].tolist() == palette[[0, 1, 4]].tolist()
    numeric = style_for("mag_r", np.arange(101.0))
    assert numeric["opts"]["clim"] == (1.0, 99.0)
    assert style_for(mapdata.COUNT, values)["opts"]["cnorm"] == "log"


def test_saved_cluster_colour_field(analysed_store_copy):
    store = Store.open(analysed_store_copy)
    state = AppState(store)
    notes = Annotations.of_store(store)
    notes.save_cluster("a", store.ids[:5])
    notes.save_cluster("b", store.ids[3:8])  # overlaps: first saved wins
    values = _field_values(state, mapdata.SAVED_CLUSTER)
    assert values[:3].tolist() == [0, 0, 0] and values[3:5].tolist() == [0, 0]
    assert values[5:8].tolist() == [1, 1, 1] and (values[8:] == -1).all()


def test_layout_builds_without_server(analysed_store):
    template = create_app(analysed_store, sync_url=False)
    state = template.state
    assert state.version == "v1"
    state.select_box((-1e9, -1e9, 1e9, 1e9))
    assert len(state.selection_ids) == state.data.n


def test_metrics_summary_mentions_every_number(analysed_store):
    state = AppState(Store.open(analysed_store))
    rows = np.arange(0, state.data.n, 3)
    result = selection_scores(
        state.data.embeddings, rows, clusters=state.data.table["cluster"].to_numpy()
    )
    html = summary_html(result)
    assert f"{len(rows):,}" in html and "Davies" in html and "silhouette" in html
    assert "TPCF" in html and "±" in html


@pytest.mark.parametrize(
    ("fmt", "magic"), [("csv", b"# store"), ("fits", b"SIMPLE"), ("votable", b"<?xml")]
)
def test_cluster_export_bytes(analysed_store_copy, fmt, magic):
    from explorer.app.views.clusters import export_bytes

    store = Store.open(analysed_store_copy)
    notes = Annotations.of_store(store)
    notes.save_cluster("pair", store.ids[:2], note="two")
    data = export_bytes(store, notes, "pair", fmt, "v1")
    assert data.startswith(magic)
    if fmt == "csv":
        lines = [ln for ln in data.decode().splitlines() if not ln.startswith("#")]
        assert len(lines) == 3 and lines[0].startswith("id,ra,dec")
        assert "# cluster: pair" in data.decode()


def test_jobs_view_without_a_job(analysed_store_copy):
    from explorer.app.views.jobs import JobsView

    state = AppState(Store.open(analysed_store_copy))
    view = JobsView(state)
    assert view._status.object == "No job yet."
    assert not view._start.disabled and view._cancel.disabled


def test_zoomed_render_matches_a_full_aggregation():
    import datashader as ds

    from explorer.app.views.map import SPREAD_MAX_PX, MapRenderer

    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(2, 5000))
    values = rng.uniform(0, 10, 5000)
    style = style_for("mag_r", values)
    renderer = MapRenderer(x, y, values, style, width=40, height=30)
    x_range, y_range = (-0.7, 0.4), (-1.0, 1.0)
    image, limits = renderer.render(x_range, y_range)
    assert image.shape == (30, 40) and limits == style["opts"]["clim"]
    # every pixel holding points (aggregated over ALL points, not the
    # x-sorted slice) is opaque with its mean's colour before spreading
    canvas = ds.Canvas(plot_width=40, plot_height=30, x_range=x_range, y_range=y_range)
    frame = pd.DataFrame({"x": x, "y": y, "value": values})
    mean = canvas.points(frame, "x", "y", agg=ds.mean("value")).data
    filled = np.isfinite(mean)
    assert filled.sum() > 100
    expected = colorize(mean, palette_rgba(style["opts"]["cmap"]), *limits)
    assert (image[filled] == expected[filled]).mean() > 0.9  # spread may overdraw
    assert ((image >> 24) > 0)[filled].all()
    # empty pixels far (> max_px) from any point stay transparent
    near = filled.copy()
    for _ in range(SPREAD_MAX_PX):
        near[1:] |= near[:-1]
        near[:-1] |= near[1:]
        near[:, 1:] |= near[:, :-1]
        near[:, :-1] |= near[:, 1:]
    assert ((image >> 24) == 0)[~near].all()
