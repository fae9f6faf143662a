"""Similar images without a browser: tiles, query first, select these, marks."""

from __future__ import annotations

import pytest

from explorer.app.state import AppState
from explorer.app.views.similar import SimilarView
from explorer.store import Store


@pytest.fixture
def state(analysed_store_copy):
    return AppState(Store.open(analysed_store_copy))


def test_tiles_show_query_first_then_id_radec_and_similarity(state):
    view = SimilarView(state)
    table = state.data.table.set_index("id")
    query = int(state.data.ids[5])
    state.query_similar([query])
    items = view._gallery.items
    assert items[0]["id"] == query and items[0]["mark"] == "query"
    assert items[0]["caption"].startswith(f"query {query}\n")
    assert len(items) == 1 + state.similar_k
    result = items[1]
    ra, dec = table.loc[result["id"], ["ra", "dec"]]
    lines = result["caption"].split("\n")
    assert lines[0] == str(result["id"])
    assert lines[1] == f"{ra:.3f} {dec:+.3f}"
    assert lines[2].startswith("sim ") and -1 <= float(lines[2][4:]) <= 1
    assert state.similar_result_ids == [i["id"] for i in items[1:]]
    assert query not in state.similar_result_ids


def test_select_these_makes_query_and_results_the_selection(state):
    view = SimilarView(state)
    assert view._select.disabled
    query = int(state.data.ids[0])
    state.query_similar([query])
    assert not view._select.disabled
    view._select.clicks += 1  # as the browser's click
    expected = {query, *state.similar_result_ids}
    assert set(state.selection_ids.tolist()) == expected
    assert state.selection_geometry is None


def test_marks_change_at_once_without_new_images(state, monkeypatch):
    view = SimilarView(state)
    state.query_similar([int(state.data.ids[1])])
    before = view._gallery.items
    target = before[3]["id"]

    def no_render(*args, **kwargs):
        raise AssertionError("marks must not render cutouts again")

    monkeypatch.setattr(state.images, "many", no_render)
    view._gallery._handle_msg({"id": target, "action": "+"})
    after = view._gallery.items
    assert state.positives == [target]
    assert after[3]["mark"] == "positive" and after[0]["mark"] == "query"
    assert [i["src"] for i in after] == [i["src"] for i in before]
    view._gallery._handle_msg({"id": target, "action": "+"})  # again: unmark
    assert view._gallery.items[3]["mark"] == "" and state.positives == []


def test_marks_are_stored_as_query_result_pairs(state):
    from explorer.store.annotations import Annotations

    view = SimilarView(state)
    query = int(state.data.ids[2])
    state.query_similar([query])
    good, bad = (int(item["id"]) for item in view._gallery.items[1:3])
    view._on_action(good, "+")
    view._on_action(bad, "−")
    notes = Annotations.of_store(state.store)
    marks = notes.similar_marks(query_id=query)
    pairs = sorted(zip(marks["id"], marks["sign"], marks["version"], strict=True))
    assert pairs == sorted([(good, 1, "v1"), (bad, -1, "v1")])
    view._on_action(bad, "+")  # the other sign replaces the pair
    view._on_action(good, "+")  # a second click takes the mark back
    marks = notes.similar_marks(query_id=query)
    assert marks[["id", "sign"]].values.tolist() == [[bad, 1]]
    assert state.positives == [bad]
