"""State logic of the dashboard without a server: selection resolution, hover
lookup, grid paging and ordering, URL round trip, feedback marks."""

from __future__ import annotations

import numpy as np
import pytest

from explorer.app import data as mapdata
from explorer.app.state import PER_PAGE, AppState
from explorer.errors import DataError
from explorer.store import Store


@pytest.fixture
def state(analysed_store) -> AppState:
    """A fresh session per test (tests change its selection, order, page)."""
    return AppState(Store.open(analysed_store))


# ------------------------------------------------------------- geometry
def test_points_in_polygon_square_and_concave_hand_checked():
    x = np.array([1.0, 3.0, 0.5, 1.5, 1.5, -0.1])
    y = np.array([1.0, 1.0, 0.5, 1.5, 0.5, 1.0])
    square = [(0, 0), (2, 0), (2, 2), (0, 2)]
    assert mapdata.points_in_polygon(x, y, square).tolist() == [
        True,
        False,
        True,
        True,
        True,
        False,
    ]
    # an L shape: the square minus its upper-right quarter (1..2, 1..2)
    ell = [(0, 0), (2, 0), (2, 1), (1, 1), (1, 2), (0, 2)]
    assert mapdata.points_in_polygon(x, y, ell).tolist() == [
        False,
        False,
        True,
        False,
        True,
        False,
    ]
    # same polygon, clockwise
    assert mapdata.points_in_polygon(x, y, ell[::-1]).tolist() == [
        False,
        False,
        True,
        False,
        True,
        False,
    ]


def test_points_in_polygon_rejects_degenerate_polygons():
    with pytest.raises(ValueError, match="need"):
        mapdata.points_in_polygon(np.zeros(2), np.zeros(2), [(0, 0), (1, 1)])


def test_points_in_box_accepts_reversed_corners():
    x = np.array([0.0, 1.0, 2.0])
    y = np.array([0.0, 1.0, 2.0])
    assert mapdata.points_in_box(x, y, (1.5, 1.5, 0.5, 0.5)).tolist() == [
        False,
        True,
        False,
    ]


def test_page_slice():
    assert mapdata.page_slice(100, 0, 48) == (slice(0, 48), 3)
    assert mapdata.page_slice(100, 2, 48) == (slice(96, 100), 3)
    assert mapdata.page_slice(100, 7, 48) == (slice(96, 100), 3)  # clamped
    assert mapdata.page_slice(0, 0, 48) == (slice(0, 0), 1)
    with pytest.raises(ValueError, match="per_page"):
        mapdata.page_slice(10, 0, 0)


# ------------------------------------------------------------- hover
def test_hover_finds_the_nearest_source_within_the_radius(state):
    data = state.data
    row = 17
    x, y = data.x[row], data.y[row]
    distances = np.hypot(data.x - x, data.y - y)
    distances[row] = np.inf
    gap = distances.min()
    assert state.hover_at(x + gap / 10, y, radius=gap / 2) == data.ids[row]
    far = data.x.max() + 100
    state.hovered_id = None
    assert state.hover_at(far, y, radius=1.0) is None
    assert state.id_at(far, y, radius=1.0) is None
    # the nearest in 2-D (not always the one of largest x: y counts too)
    nearest = np.argmin(np.hypot(data.x - far, data.y - y))
    assert state.id_at(far, y, radius=1e9) == data.ids[nearest]


# ------------------------------------------------------------- selection
def test_box_selection_matches_brute_force(state):
    data = state.data
    x0, x1 = np.percentile(data.x, [20, 70])
    y0, y1 = np.percentile(data.y, [10, 60])
    ids = state.select_box((x1, y1, x0, y0))
    expected = data.ids[
        (data.x >= x0) & (data.x <= x1) & (data.y >= y0) & (data.y <= y1)
    ]
    assert sorted(ids.tolist()) == sorted(expected.tolist()) and len(ids) > 0
    assert state.selection_geometry["kind"] == "box"
    assert state.page == 0


def test_lasso_triangle_matches_barycentric_test(state):
    data = state.data
    cx, cy = np.median(data.x), np.median(data.y)
    span = np.ptp(data.x)
    tri = np.array([(cx - span, cy - span), (cx + span, cy - span), (cx, cy + span)])
    ids = state.select_polygon(tri)
    # barycentric reference, independent of the ray-casting code
    (ax, ay), (bx, by), (qx, qy) = tri
    det = (by - qy) * (ax - qx) + (qx - bx) * (ay - qy)
    l1 = ((by - qy) * (data.x - qx) + (qx - bx) * (data.y - qy)) / det
    l2 = ((qy - ay) * (data.x - qx) + (ax - qx) * (data.y - qy)) / det
    inside = (l1 >= 0) & (l2 >= 0) & (1 - l1 - l2 >= 0)
    assert sorted(ids.tolist()) == sorted(data.ids[inside].tolist())
    assert 0 < len(ids) < data.n


def test_clear_and_select_ids(state):
    state.select_ids(state.data.ids[:3])
    assert len(state.selection_ids) == 3
    state.clear_selection()
    assert len(state.selection_ids) == 0 and state.selection_geometry is None
    with pytest.raises(DataError, match="-5"):
        state.select_ids([-5])


# ------------------------------------------------------------- grid
def test_grid_pages_in_anomaly_order(state):
    data = state.data
    state.select_box((data.x.min(), data.y.min(), data.x.max(), data.y.max()))
    assert len(state.selection_ids) == data.n
    state.sort_key = "anomaly_score"
    scores = data.table.set_index("id")["anomaly_score"]
    first, n_pages = state.page_ids()
    assert n_pages == -(-data.n // PER_PAGE) and len(first) == PER_PAGE
    assert np.all(np.diff(scores.loc[first].to_numpy()) <= 0)
    state.page = 1
    second, _ = state.page_ids()
    assert scores.loc[second].max() <= scores.loc[first].min()
    assert not set(first) & set(second)
    state.page = n_pages - 1
    last, _ = state.page_ids()
    assert len(last) == data.n - PER_PAGE * (n_pages - 1)


def test_grid_orders_by_id_and_centroid(state):
    data = state.data
    rows = np.arange(0, data.n, 7)
    state.select_ids(data.ids[rows])
    state.sort_key = "id"
    assert state.ordered_selection().tolist() == sorted(data.ids[rows].tolist())
    state.sort_key = "centroid"
    vectors = np.asarray(state.store.embeddings(state.version))[rows]
    distance = np.linalg.norm(vectors - vectors.mean(axis=0), axis=1)
    assert state.ordered_selection()[0] == data.ids[rows][np.argmin(distance)]
    assert state.ordered_selection()[-1] == data.ids[rows][np.argmax(distance)]
    with pytest.raises(DataError, match="cannot order by 'nope'"):
        data.order(rows, "nope")


# ------------------------------------------------------------- similar/anomalies
def test_marks_are_exclusive(state):
    state.query_similar([5, 6])
    state.mark(10, "positive")
    state.mark(11, "negative")
    state.mark(10, "negative")
    assert state.positives == [] and state.negatives == [11, 10]
    state.mark(11, None)
    assert state.negatives == [10]
    with pytest.raises(ValueError, match="maybe"):
        state.mark(1, "maybe")
    state.query_similar([7])
    assert state.similar_query_ids == [7] and state.negatives == []


def test_top_anomalies_are_the_highest_scores(state):
    scores = state.data.table["anomaly_score"].to_numpy()
    rows = state.top_anomalies(10)
    assert sorted(rows.tolist()) == sorted(np.argsort(-scores)[:10].tolist())
    assert np.all(np.diff(scores[rows]) <= 0)


# ------------------------------------------------------------- colour fields
def test_colour_fields_hide_private_columns(state):
    fields = state.param.color_field.objects
    assert fields[0] == mapdata.COUNT and "anomaly_score" in fields
    assert "mag_r" in fields and mapdata.SAVED_CLUSTER in fields
    assert not any(f.startswith("_") for f in fields)
    assert "id" not in fields and "x" not in fields


# ------------------------------------------------------------- url
def test_url_round_trip(analysed_store):
    store = Store.open(analysed_store)
    a = AppState(store)
    a.param.update(color_field="anomaly_score", view=[-1.5, 2.25, 0.0, 3.0])
    query = a.url_query()
    assert query["color"] == "anomaly_score" and query["version"] == "v1"
    b = AppState(store)
    b.apply_url_query(query)
    assert (b.version, b.color_field, b.view) == (
        "v1",
        "anomaly_score",
        [-1.5, 2.25, 0.0, 3.0],
    )
    d = AppState(store)
    d.apply_url_query({"view": "[0, 4, 0, 3]"})  # integers are fine too
    assert d.view == [0.0, 4.0, 0.0, 3.0]
    c = AppState(store)
    c.apply_url_query({"color": "no_such_field", "view": "[1, 2]", "version": "v9"})
    assert (c.color_field, c.view, c.version) == ("count", None, "v1")
