"""Views built without a server: every colour field draws, the layout builds,
version switching resets the session, saved clusters become a colour field."""

from __future__ import annotations

import holoviews as hv
import numpy as np
import pytest

from explorer.annotations import Annotations
from explorer.app import data as mapdata
from explorer.app.main import create_app
from explorer.app.scores import selection_scores
from explorer.app.state import AppState
from explorer.app.views.map import MapView, _field_values, style_for
from explorer.app.views.metrics import summary_html
from explorer.store import Store


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
    assert "version v1" in hv.render(view._pane.object).title.text


def test_every_colour_field_renders(analysed_store):
    state = AppState(Store.open(analysed_store))
    view = MapView(state)
    for field in state.param.color_field.objects:
        state.color_field = field
        overlay = view._pane.object
        assert overlay is not None
        image = hv.render(overlay)  # the bokeh figure is built for the field
        assert image.frame_width == 500
        assert image.lod_timeout == 0 and image.lod_interval == 0


def test_style_for_fields():
    values = np.array([-1.0, 0.0, 3.0, np.nan])
    style = style_for("cluster", values)
    assert len(style["opts"]["cmap"]) == 5  # grey + 4 clusters
    assert style["opts"]["clim"] == (-1.5, 3.5)
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
