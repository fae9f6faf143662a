"""The map's chrome without a browser: title line, tools, colour bar or legend
per field kind, hover on empty space, the similar-images overlay."""

from __future__ import annotations

import numpy as np
import pytest
from bokeh import events
from bokeh.document import Document
from bokeh.models import (
    BoxSelectTool,
    LassoSelectTool,
    PanTool,
    ResetTool,
    TapTool,
    WheelZoomTool,
)

from explorer.app import data as mapdata
from explorer.app.render.legend import FieldLegend
from explorer.app.state import AppState
from explorer.app.views.map import SIMILAR, SIMILAR_QUERY, MapView, header_html
from explorer.store import Store
from explorer.store.annotations import Annotations


@pytest.fixture(autouse=True, scope="module")
def _bokeh_backend():
    from explorer.app.main import extension

    extension()


@pytest.fixture
def state(analysed_store_copy):
    return AppState(Store.open(analysed_store_copy))


def send(view: MapView, event) -> None:
    doc = view.figure.document
    if doc is None:
        doc = Document()
        doc.add_root(view.figure)
    doc.callbacks.trigger_event(event)


def shown(view: MapView, name: str) -> dict:
    return view.figure.select_one({"name": name}).data_source.data


def test_every_tool_is_in_the_toolbar_and_the_title_is_its_own_line(state):
    view = MapView(state)
    tools = {type(t) for t in view.figure.toolbar.tools}
    assert tools == {
        PanTool,
        WheelZoomTool,
        BoxSelectTool,
        LassoSelectTool,
        TapTool,
        ResetTool,
    }
    assert view.figure.toolbar.logo is None
    assert not view.figure.title.text  # nothing shares the toolbar's row
    assert view.title_text in view._header.object


def test_a_long_title_is_cut_with_the_full_text_in_its_tooltip():
    title = "20,000 sources · version v1 · " + "a_very_long_catalogue_column" * 4
    text = header_html(title, FieldLegend("bar"))
    assert f"title='{title}'" in text
    assert "text-overflow:ellipsis" in text and "white-space:nowrap" in text


def test_a_constant_field_hides_the_bar_and_says_its_value(state):
    values = state.data.table["n_masked"].to_numpy()
    assert np.all(values == values[0])  # the store's own constant column
    view = MapView(state)
    state.color_field = "n_masked"
    assert view.legend.kind == "constant"
    assert view._color_bar.visible is False
    assert f"n_masked = {values[0]:.6g} for every source" in view._header.object
    state.color_field = "anomaly_score"
    assert view._color_bar.visible is True


def test_saved_clusters_none_then_a_legend_of_their_names(state):
    view = MapView(state)
    state.color_field = mapdata.SAVED_CLUSTER
    assert view._color_bar.visible is False
    assert "no saved clusters yet" in view._header.object
    Annotations.of_store(state.store).save_cluster("rings", state.store.ids[:3])
    state.param.trigger("clusters_changed")
    assert view.legend.kind == "categories"
    assert [label for label, _ in view.legend.entries] == [
        "rings",
        "in no saved cluster",
    ]
    assert "rings" in view._header.object


def test_hover_on_empty_space_clears_the_hovered_source(state):
    view = MapView(state)
    data, fig = state.data, view.figure
    x, y = float(data.x[4]), float(data.y[4])
    send(view, events.MouseMove(fig, x=x, y=y, sx=0, sy=0))
    assert state.hovered_id == int(data.ids[4])
    far = float(data.x.max()) + 10 * float(np.ptp(data.x))
    send(view, events.MouseMove(fig, x=far, y=y, sx=0, sy=0))
    assert state.hovered_id is None


def test_similar_results_and_query_are_drawn_on_the_map(state):
    view = MapView(state)
    data = state.data
    state.query_similar([int(data.ids[0])])
    state.similar_result_ids = [int(i) for i in data.ids[[3, 9]]]
    assert list(shown(view, SIMILAR)["x"]) == list(data.x[[3, 9]])
    assert list(shown(view, SIMILAR_QUERY)["y"]) == [data.y[0]]
    state.similar_result_ids = []
    assert len(shown(view, SIMILAR)["x"]) == 0
