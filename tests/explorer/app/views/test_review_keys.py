"""The review queue's keyboard path (no browser: the view built in-process)."""

from __future__ import annotations

import pytest

from explorer.app.views.anomalies import AnomalyView
from explorer.app.views.review_keys import CURSOR_MARK


@pytest.fixture(autouse=True, scope="module")
def _bokeh_backend():
    from explorer.app.main import extension

    extension()


def _view(root):
    from explorer.app.state import AppState
    from explorer.store import Store

    state = AppState(Store.open(root))
    state.anomaly_k = 60
    return AnomalyView(state)


def _shown(view) -> list[int]:
    return [int(item["id"]) for item in view._gallery.items]


def test_keys_move_the_cursor_label_undo_and_ask_for_similar(analysed_store_copy):
    view = _view(analysed_store_copy)
    first = _shown(view)
    assert CURSOR_MARK in view._gallery.items[0]["mark"]
    view.review.on_key("j")
    assert view.review.cursor == 1
    assert CURSOR_MARK in view._gallery.items[1]["mark"]
    assert CURSOR_MARK not in view._gallery.items[0]["mark"]
    target = first[1]
    view.review.on_key("i")  # the learned queue: the labelled source leaves
    assert view._notes.tag_of([target]).iat[0] == "interesting"
    assert target not in _shown(view)
    view.review.on_key("u")
    assert view._notes.tag_of([target]).iat[0] == ""
    assert target in _shown(view)
    view.review.on_key("Enter")
    assert list(view.state.similar_query_ids) == [_shown(view)[view.review.cursor]]


def test_arrow_keys_turn_pages_and_reset_the_cursor(analysed_store_copy):
    view = _view(analysed_store_copy)
    view.review.on_key("j")
    first_page = _shown(view)
    view.review.on_key("ArrowRight")
    assert view.page == 1 and view.review.cursor == 0
    assert set(_shown(view)).isdisjoint(first_page)
    view.review.on_key("ArrowLeft")
    assert view.page == 0 and _shown(view) == first_page
