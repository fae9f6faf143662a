"""The map's top-anomaly glyphs without a browser: exactly the top-k ids,
drawn above the image, whatever the colour field; the toggle hides them."""

from __future__ import annotations

import numpy as np
import pytest

from explorer.app.render.glyphs import TOP_ANOMALIES
from explorer.app.state import AppState
from explorer.app.views.map import IMAGE, MapView
from explorer.app.views.map_figure import TOP_ANOMALIES as GLYPHS
from explorer.store import Store


@pytest.fixture(autouse=True, scope="module")
def _bokeh_backend():
    from explorer.app.main import extension

    extension()


@pytest.fixture
def state(analysed_store_copy):
    return AppState(Store.open(analysed_store_copy))


def test_glyphs_hold_the_top_k_ids_above_the_image_for_any_field(state):
    view = MapView(state)
    table = state.data.table
    scores, ids = table["anomaly_score"].to_numpy(), table["id"].to_numpy()
    k = min(TOP_ANOMALIES, len(ids))
    expected = ids[np.lexsort((ids, -scores))][:k]
    source = view.figure.select_one({"name": GLYPHS}).data_source
    assert list(source.data["id"]) == expected.tolist()
    assert list(source.data["rank"]) == list(range(1, k + 1))
    rows = state.data.rows_of(expected)
    np.testing.assert_array_equal(source.data["x"], state.data.x[rows])
    names = [r.name for r in view.figure.renderers]
    assert names.index(GLYPHS) > names.index(IMAGE)  # drawn after: on top
    # the colour field changes the image, never the glyphs
    state.color_field = "cluster"
    assert list(source.data["id"]) == expected.tolist()
    assert view.top_anomalies.visible


def test_the_toggle_hides_and_shows_the_glyphs(state):
    view = MapView(state)
    renderer = view.figure.select_one({"name": GLYPHS})
    assert view.top_anomalies.toggle.value and renderer.visible
    view.top_anomalies.toggle.value = False
    assert not renderer.visible and not view.top_anomalies.visible
    view.top_anomalies.toggle.value = True
    assert renderer.visible
