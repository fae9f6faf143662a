"""The selection grid without a browser: direction, page reset, keyboard review."""

from __future__ import annotations

import numpy as np
import pytest

from explorer.app.state import PER_PAGE, AppState
from explorer.app.views.grid import DIRECTIONS, GridView
from explorer.store import Store
from explorer.store.annotations import Annotations


@pytest.fixture
def state(analysed_store_copy):
    state = AppState(Store.open(analysed_store_copy))
    state.select_box((-1e9, -1e9, 1e9, 1e9))  # every source: several pages
    return state


def shown_ids(grid: GridView) -> list[int]:
    return [item["id"] for item in grid._gallery.items]


def test_direction_control_reverses_the_order_and_goes_to_page_one(state):
    grid = GridView(state)
    scores = state.data.table.set_index("id")["anomaly_score"]
    assert state.sort_descending  # anomaly score: most anomalous first
    first = shown_ids(grid)
    assert len(first) == PER_PAGE
    assert first[0] == int(scores.idxmax())
    state.page = 2
    grid._direction.value = "↑ smallest first"  # as a click on the button
    assert state.sort_descending is False and state.page == 0
    ascending = shown_ids(grid)
    assert ascending[0] == int(scores.idxmin())
    values = scores.loc[ascending].to_numpy()
    assert (np.diff(values) >= 0).all()


def test_a_new_order_key_starts_on_page_one_in_its_natural_direction(state):
    grid = GridView(state)
    state.page = 3
    state.sort_key = "id"
    assert state.page == 0 and state.sort_descending is False
    assert grid._direction.value == next(k for k, v in DIRECTIONS.items() if not v)
    assert shown_ids(grid) == sorted(state.data.ids.tolist())[:PER_PAGE]
    state.sort_descending = True
    assert shown_ids(grid) == sorted(state.data.ids.tolist())[::-1][:PER_PAGE]
    assert "page 1 /" in grid._page_label.object


def test_nan_stays_last_in_both_directions(state):
    data = state.data
    rows = np.arange(6)
    values = data.table["anomaly_score"].to_numpy().copy()
    data.table.loc[2, "anomaly_score"] = np.nan
    try:
        for descending in (True, False):
            assert data.order(rows, "anomaly_score", descending)[-1] == 2
    finally:
        data.table["anomaly_score"] = values


def test_keyboard_moves_turns_pages_and_tags(state):
    grid = GridView(state)
    notes = Annotations.of_store(state.store)
    assert set(grid.keys.bindings) >= {"j", "k", "i", "b", "ArrowLeft", "ArrowRight"}
    page_one = shown_ids(grid)
    assert grid._gallery.items[0]["mark"] == "cursor"
    grid.keys.press("j")
    grid.keys.press("j")
    assert grid.cursor == 2 and grid._gallery.items[2]["mark"] == "cursor"
    grid.keys.press("i")  # tags the cursor's image and moves on
    assert notes.tag_of([page_one[2]]).iat[0] == "interesting"
    assert grid.cursor == 3
    assert grid._gallery.items[2]["mark"] == "interesting"
    grid.keys.press("k")
    assert grid._gallery.items[2]["mark"] == "interesting mark-cursor"
    grid.keys.press("i")  # the same key again takes the tag back
    assert notes.tag_of([page_one[2]]).iat[0] == ""
    grid.keys.press("b")
    assert notes.tag_of([page_one[3]]).iat[0] == "boring"
    grid.keys.press("ArrowRight")
    assert state.page == 1 and grid.cursor == 0
    assert shown_ids(grid)[0] == state.ordered_selection()[PER_PAGE]
    grid.keys.press("k")  # before the first image: the previous page's last
    assert state.page == 0 and grid.cursor == PER_PAGE - 1
    grid.keys.press("Enter")
    assert state.similar_query_ids == [page_one[-1]]
    with pytest.raises(KeyError, match="not bound"):
        grid.keys.press("x")


def test_only_tags_the_database_knows_are_bound(state):
    from explorer.store.annotations.database import TAGS

    grid = GridView(state)
    assert set(grid.tag_keys.values()) == {"interesting", "boring", "artefact"} & set(
        TAGS
    )
