"""The ``relevance`` colour field: offered once a label exists, the hunt's values."""

from __future__ import annotations

import numpy as np

from explorer.app import data as mapdata
from explorer.app.state import AppState
from explorer.store import Store
from explorer.store.annotations import Annotations


def test_relevance_colour_follows_the_labels(analysed_store_copy):
    from explorer.active import RelevanceModel

    store = Store.open(analysed_store_copy)
    state = AppState(store)
    assert mapdata.RELEVANCE not in state.param.color_field.objects
    notes = Annotations.of_store(store)
    target = int(state.data.ids[7])
    notes.tag(target, "interesting")
    state.param.trigger("clusters_changed")  # as the store watch does
    assert mapdata.RELEVANCE in state.param.color_field.objects
    state.color_field = mapdata.RELEVANCE
    values = mapdata.field_values(state.data, mapdata.RELEVANCE)
    table = store.map_table("v1")
    model = RelevanceModel().fit(store.embeddings("v1"), table["anomaly_score"])
    model.label([7], [1.0])
    np.testing.assert_allclose(values, model.relevance())
    assert values[7] == values.max()
    notes.undo_last_label()
    state.param.trigger("clusters_changed")
    assert mapdata.RELEVANCE not in state.param.color_field.objects
    assert state.color_field == mapdata.COUNT
    # the shared model follows the undo too
    np.testing.assert_allclose(
        mapdata.field_values(state.data, mapdata.RELEVANCE), model.prior_
    )
