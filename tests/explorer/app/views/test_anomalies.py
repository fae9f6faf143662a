"""The anomaly review queue's filters (no browser: the view built in-process)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from explorer.app.views.anomalies import FILTERS, AnomalyView, flag_text, queue_rows


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
