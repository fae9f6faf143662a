"""The hover caption of one source."""

from __future__ import annotations

import numpy as np
import pytest

from explorer.app.state import AppState
from explorer.app.views.cutout import describe
from explorer.store import Store


@pytest.fixture(autouse=True, scope="module")
def _bokeh_backend():
    import holoviews as hv

    hv.extension("bokeh")


def test_caption_names_the_cluster_or_says_no_cluster(analysed_store_copy):
    state = AppState(Store.open(analysed_store_copy))
    table = state.data.table
    labels = table["cluster"].to_numpy()
    ids = table["id"].to_numpy()
    for label in (-1, int(labels.max())):
        rows = np.flatnonzero(labels == label)
        if not len(rows):
            continue
        caption = describe(state, int(ids[rows[0]]))
        if label < 0:
            assert "no cluster" in caption
            assert "-1" not in caption
        else:
            assert f"auto cluster {label} ({len(rows):,})" in caption
        assert f"id {int(ids[rows[0]])}" in caption


def test_display_line_names_the_colours_and_the_field_width(analysed_store_copy):
    from explorer.app.views.cutout import display_line

    store = Store.open(analysed_store_copy)
    state = AppState(store)
    size = store.cutout_size
    store.manifest.pop("pixel_scale_arcsec", None)
    assert display_line(state) == f"R z · G r · B g · {size} px across"
    store.manifest["pixel_scale_arcsec"] = 0.25
    assert display_line(state) == f"R z · G r · B g · {size * 0.25:.1f}″ across"
    state.stretch, state.rgb_bands = "asinh", ["r", "r", "r"]
    assert display_line(state).startswith("grey: r · ")
