"""Views built without a server: every colour field draws, the layout builds,
version switching resets the session, saved clusters become a colour field.

Assertions read what the browser would get (the figure's renderers, the
widgets of a view's layout) and events go in as the browser sends them
(through the document), not through the views' private attributes."""

from __future__ import annotations

import numpy as np
import panel as pn
import pytest
from bokeh.document import Document
from bokeh.models import ColorBar

from explorer.analysis.metrics import selection_metrics
from explorer.app import data as mapdata
from explorer.app.main import create_app
from explorer.app.state import AppState
from explorer.app.views.map import (
    ANOMALIES,
    IMAGE,
    OUTLINE,
    SAVED_CLUSTER,
    MapView,
    style_for,
)
from explorer.app.views.metrics import summary_html
from explorer.store import Store
from explorer.store.annotations import Annotations


@pytest.fixture(autouse=True, scope="module")
def _bokeh_backend():
    from explorer.app.main import extension

    extension()


def shown(view: MapView, name: str) -> dict:
    """The data the browser gets for the figure's renderer ``name``."""
    return view.figure.select_one({"name": name}).data_source.data


def color_bar(view: MapView) -> ColorBar:
    return view.figure.select_one(ColorBar)


def send(view: MapView, event) -> None:
    """Deliver a Bokeh UI event as the server does for a browser message."""
    doc = view.figure.document
    if doc is None:
        doc = Document()
        doc.add_root(view.figure)
    doc.callbacks.trigger_event(event)


def field_values(state: AppState, field: str) -> np.ndarray:
    return mapdata.field_values(state.data, field, state.previous_version)


def test_switching_version_resets_the_session(two_version_store):
    store = Store.open(two_version_store)
    assert store.versions == ["v1", "v2"] and store.current_version == "v2"
    state = AppState(store)
    view = MapView(state)
    assert mapdata.NEIGHBOURHOOD_CHANGE in state.param.color_field.objects
    change = field_values(state, mapdata.NEIGHBOURHOOD_CHANGE)
    assert change.shape == (store.n_sources,)
    assert ((change >= 0) & (change <= 1)).all()
    state.color_field = "anomaly_score"
    state.select_box((-1e9, -1e9, 1e9, 1e9))
    state.version = "v1"
    assert len(state.selection_ids) == 0  # a selection belongs to one map
    assert mapdata.NEIGHBOURHOOD_CHANGE not in state.param.color_field.objects
    assert state.color_field == "anomaly_score"
    assert "version v1" in view.title_text


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
        image = shown(view, IMAGE)["image"][0]
        assert image.shape == (450, 500) and image.dtype == np.uint32
        assert (image >> 24).astype(bool).sum() > 50, field  # opaque pixels drawn
        bar = color_bar(view)
        assert field in bar.title or "sources" in bar.title
        assert (
            bar.color_mapper.palette
            == style_for(field, field_values(state, field))["opts"]["cmap"]
        )
        assert field in view.title_text


def test_zoom_renders_once_and_updates_view(analysed_store):
    state = AppState(Store.open(analysed_store))
    view = MapView(state)
    x, y = state.data.x, state.data.y
    cx, cy = float(np.median(x)), float(np.median(y))
    renders = view.renders
    view.figure.x_range.update(start=cx - 0.5, end=cx + 0.5)
    view.figure.y_range.update(start=cy - 0.5, end=cy + 0.5)
    assert view.renders > renders
    data = shown(view, IMAGE)
    assert data["x"] == [cx - 0.5] and data["dw"] == [1.0]
    assert state.view == [float(f"{v:.6g}") for v in (cx - 0.5, cx + 0.5)] + [
        float(f"{v:.6g}") for v in (cy - 0.5, cy + 0.5)
    ]
    # the count colour bar follows the render's own range
    bar = color_bar(view).color_mapper
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
    send(view, events.SelectionGeometry(fig, geometry=geometry, final=False))
    assert len(state.selection_ids) == 0  # only the final geometry selects
    send(view, events.SelectionGeometry(fig, geometry=geometry, final=True))
    inside = (data.x >= x0) & (data.x <= x1) & (data.y >= y0) & (data.y <= y1)
    assert sorted(state.selection_ids) == sorted(data.ids[inside])
    assert shown(view, OUTLINE)["x"][0] == shown(view, OUTLINE)["x"][-1]
    poly = {"type": "poly", "x": [x0, x1, x0], "y": [y0, y0, y1]}
    send(view, events.SelectionGeometry(fig, geometry=poly, final=True))
    assert 0 < len(state.selection_ids) < inside.sum()
    row = 7
    px, py = float(data.x[row]), float(data.y[row])
    send(view, events.MouseMove(fig, x=px, y=py, sx=0, sy=0))
    assert state.hovered_id == int(data.ids[row])
    send(view, events.Tap(fig, x=px, y=py, sx=0, sy=0))
    assert state.similar_query_ids == [int(data.ids[row])]


def test_anomaly_and_cluster_overlays(analysed_store_copy):
    store = Store.open(analysed_store_copy)
    state = AppState(store)
    view = MapView(state)
    assert len(shown(view, ANOMALIES)["x"]) == 0
    state.param.update(show_anomalies=True, anomaly_k=5)
    rows = state.top_anomalies(5)
    assert list(shown(view, ANOMALIES)["x"]) == list(state.data.x[rows])
    Annotations.of_store(store).save_cluster("pair", store.ids[:2])
    state.shown_cluster = "pair"
    assert list(shown(view, SAVED_CLUSTER)["y"]) == list(state.data.y[:2])
    # a save elsewhere re-reads the shown cluster; hiding it clears the markers
    Annotations.of_store(store).save_cluster("pair", store.ids[:3], overwrite=True)
    state.param.trigger("clusters_changed")
    assert list(shown(view, SAVED_CLUSTER)["y"]) == list(state.data.y[:3])
    state.shown_cluster = None
    assert len(shown(view, SAVED_CLUSTER)["x"]) == 0
    # with nothing shown, a save does not touch the (empty) markers at all
    source = view._cluster_source
    before = source.data
    state.param.trigger("clusters_changed")
    assert source.data is before


def test_saved_cluster_colour_field(analysed_store_copy):
    store = Store.open(analysed_store_copy)
    state = AppState(store)
    notes = Annotations.of_store(store)
    notes.save_cluster("a", store.ids[:5])
    notes.save_cluster("b", store.ids[3:8])  # overlaps: first saved wins
    values = field_values(state, mapdata.SAVED_CLUSTER)
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
    result = selection_metrics(
        state.data.embeddings, rows, clusters=state.data.table["cluster"].to_numpy()
    )
    html = summary_html(result)
    assert f"{len(rows):,}" in html and "Davies" in html and "silhouette" in html
    assert "TPCF" in html and "±" in html


@pytest.mark.parametrize(
    ("fmt", "magic"), [("csv", b"# store"), ("fits", b"SIMPLE"), ("votable", b"<?xml")]
)
def test_cluster_export_bytes(analysed_store_copy, fmt, magic):
    from explorer.app.views.clusters import ClustersView

    store = Store.open(analysed_store_copy)
    notes = Annotations.of_store(store)
    notes.save_cluster("pair", store.ids[:2], note="two")
    view = ClustersView(AppState(store, version="v1"))
    data = view.export("pair", fmt)
    assert data.startswith(magic)
    if fmt == "csv":
        lines = [ln for ln in data.decode().splitlines() if not ln.startswith("#")]
        assert len(lines) == 3 and lines[0].startswith("id,ra,dec")
        assert "# cluster: pair" in data.decode()


def test_jobs_view_without_a_job(analysed_store_copy):
    from explorer.app.views.jobs import JobsView

    state = AppState(Store.open(analysed_store_copy))
    layout = pn.panel(JobsView(state))
    (status,) = [
        pane for pane in layout.select(pn.pane.HTML) if "job-status" in pane.css_classes
    ]
    buttons = {button.label: button for button in layout.select(pn.widgets.Button)}
    assert status.object == "No job yet."
    assert not buttons["Start"].disabled and buttons["Cancel"].disabled


def test_xi_plot_is_updated_in_place_with_sigma_whiskers(analysed_store):
    from bokeh.models import Whisker

    from explorer.app.views.metrics import MetricsView, xi_columns

    state = AppState(Store.open(analysed_store))
    view = MetricsView(state)
    layout = view.__panel__()
    figure = view._plot.object
    model_ids_before = {m.id for m in figure.references()}
    rows = np.arange(0, state.data.n, 2)
    view.show(selection_metrics(state.data.embeddings, rows))
    tpcf = view.result["tpcf"]
    columns = view._xi.data
    assert columns["r"] == pytest.approx(list(tpcf.r))
    assert columns["xi"] == pytest.approx(list(tpcf.xi))
    sigma = np.asarray(tpcf.sigma_r)
    assert columns["upper"] == pytest.approx(list(np.asarray(tpcf.xi) + sigma))
    assert columns["lower"] == pytest.approx(list(np.asarray(tpcf.xi) - sigma))
    # same figure, same models: only the source's data changed
    assert view._plot.object is figure
    assert {m.id for m in figure.references()} == model_ids_before
    assert figure.select_one(Whisker).source is view._xi
    assert xi_columns(None) == {"r": [], "xi": [], "lower": [], "upper": []}
    assert layout is not None
