"""The anomaly review queue's filters (no browser: the view built in-process)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from explorer.app.views.anomalies import (
    FILTERS,
    AnomalyView,
    HuntTally,
    flag_text,
    queue_rows,
)


@pytest.fixture(autouse=True, scope="module")
def _bokeh_backend():
    from explorer.app.main import extension

    extension()


def _table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "anomaly_score": [0.9, 0.8, 0.7, 0.6, 0.5],
            "artefact_score": [0.2, 0.7, 0.1, 0.5, 0.0],
            "cosmic_ray_flag": [False, True, False, False, False],
            "trail_flag": [False, True, False, False, False],
            "bad_column_flag": [False, False, False, True, False],
            "saturated_flag": [False] * 5,
        }
    )


def test_queue_rows_per_filter():
    table = _table()
    assert queue_rows(table, 10, "all").tolist() == [0, 1, 2, 3, 4]
    assert queue_rows(table, 2, "science").tolist() == [0, 2]
    assert queue_rows(table, 10, "artefacts").tolist() == [1, 3]
    no_flags = table.drop(columns="artefact_score")
    assert queue_rows(no_flags, 10, "artefacts").tolist() == []
    assert queue_rows(no_flags, 3, "science").tolist() == [0, 1, 2]
    assert queue_rows(table.drop(columns="anomaly_score"), 3).tolist() == []


def test_flag_text():
    table = _table()
    assert flag_text(table, np.array([1, 3, 0])) == ["CR, trail", "bad col", ""]
    assert flag_text(table[["anomaly_score"]], np.array([0])) == [""]


def test_view_filter_changes_the_tiles(analysed_store_copy):
    from explorer.app.state import AppState
    from explorer.store import Store

    state = AppState(Store.open(analysed_store_copy))
    state.anomaly_k = 50
    view = AnomalyView(state)
    table = state.data.table
    for label, mode in FILTERS.items():
        view._filter.value = label
        expected = state.data.ids[queue_rows(table, 50, mode)][:24]
        shown = [int(item["id"]) for item in view._gallery.items]
        assert shown == expected.tolist(), label
    assert "top" in view._status.object


def _view(root, k: int = 60):
    from explorer.app.state import AppState
    from explorer.store import Store

    state = AppState(Store.open(root))
    state.anomaly_k = k
    return AnomalyView(state)


def _shown(view) -> list[int]:
    return [int(item["id"]) for item in view._gallery.items]


def _expected_queue(store, labels: dict[int, float], k: int = 24) -> list[int]:
    """The exploit queue of a model fitted afresh: what RelevanceModel predicts."""
    from explorer.active import RelevanceModel, acquisition_order

    table = store.map_table("v1")
    ids = table["id"].to_numpy()
    model = RelevanceModel().fit(store.embeddings("v1"), table["anomaly_score"])
    if labels:
        rows = [int(np.flatnonzero(ids == i)[0]) for i in labels]
        model.label(rows, list(labels.values()))
    return ids[acquisition_order(model, k, "exploit")].tolist()


def test_learned_queue_reranks_after_a_label_and_undo_restores(analysed_store_copy):
    from explorer.store import Store

    view = _view(analysed_store_copy)
    store = view.state.store
    before = _shown(view)
    assert before == _expected_queue(store, {})
    # with no label the learned order is the anomaly order
    table = view.state.data.table
    assert before == view.state.data.ids[queue_rows(table, 24)].tolist()
    target = before[3]
    view._on_action(target, "★")
    after = _shown(view)
    assert target not in after  # labelled sources leave the queue
    assert after == _expected_queue(store, {target: 1.0})
    assert after != [i for i in before if i != target][: len(after)]
    # by hand: r_i = (w_i + c pi_i) / (w_i + c) over the label's k neighbours
    from explorer.active import anomaly_prior

    vectors = np.asarray(store.embeddings("v1"), dtype=np.float64)
    ids = view.state.data.ids
    row = int(np.flatnonzero(ids == target)[0])
    similarity = vectors @ vectors[row]
    prior = anomaly_prior(table["anomaly_score"].to_numpy(), top=0.5, power=5.0)
    reached = np.argsort(-similarity, kind="stable")[:300]
    weight = np.zeros(len(ids))
    weight[reached] = np.exp(-(1.0 - similarity[reached]) / 0.5)
    relevance = (weight + 0.1 * prior) / (weight + 0.1)
    relevance[row] = -np.inf
    assert after == ids[np.argsort(-relevance, kind="stable")[:24]].tolist()
    notes = Store.open(analysed_store_copy).annotations_path
    assert notes.exists()
    view.undo()
    assert _shown(view) == before
    assert view.tally.labels == {}


def test_artefact_and_boring_labels_sink_neighbours(analysed_store_copy):
    view = _view(analysed_store_copy)
    before = _shown(view)
    view._on_action(before[0], "⚠")
    view._on_action(before[1], "✕")
    tags = view._notes.tag_of(before[:2]).tolist()
    assert tags == ["artefact", "boring"]
    store = view.state.store
    assert _shown(view) == _expected_queue(store, {before[0]: 0.0, before[1]: 0.0})


def test_anomaly_order_keeps_labelled_tiles(analysed_store_copy):
    view = _view(analysed_store_copy)
    view._order.value = "anomaly score"
    before = _shown(view)
    view._on_action(before[0], "★")
    assert _shown(view) == before  # the plain order does not move
    assert "interesting" in view._gallery.items[0]["mark"].split()
    assert "reviewed <b>1</b>" in view._status.object
    view._on_action(before[0], "★")  # a second click takes it back
    assert view._notes.tag_of([before[0]]).iat[0] == ""


def test_tally_counts_finds_views_labels_and_time(analysed_store_copy):
    now = [100.0]
    view = _view(analysed_store_copy)
    view.tally = HuntTally(clock=lambda: now[0])
    view._render()
    first = _shown(view)
    assert len(view.tally.viewed) == 24
    viewed = set(first)
    view._on_action(first[0], "★")
    viewed |= set(_shown(view))
    view._on_action(first[1], "✕")
    viewed |= set(_shown(view))
    assert view.tally.viewed == viewed
    now[0] += 125.0
    assert view.tally.text() == (
        f"1 interesting in {len(viewed)} viewed "
        f"({100 / len(viewed):.1f}%) · 2 labels · 2 min 05 s"
    )
    view.undo()  # takes back the boring label
    assert view.tally.labels == {first[0]: "interesting"}
    view.undo()
    assert view.tally.interesting == 0
    view.undo()  # nothing left: a notice, no change
    assert view.state.notification["text"] == "No label left to undo."


def test_learned_queue_respects_the_filters(analysed_store_copy):
    view = _view(analysed_store_copy, k=50)
    view._on_action(_shown(view)[0], "★")
    table = view.state.data.table
    for label, mode in FILTERS.items():
        view._filter.value = label
        keep = set(view.state.data.ids[queue_rows(table, len(table), mode)].tolist())
        assert set(_shown(view)) <= keep, label
