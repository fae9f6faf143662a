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
