"""The map's grid index: per-cell counts against a direct histogram, box counts
and rows against a brute-force scan, views covering every visible point."""

from __future__ import annotations

import numpy as np
import pytest

from explorer.app.render.grid_index import GridIndex, default_cells, index_for


def lattice_points(rng, n: int, cells: int) -> tuple[np.ndarray, np.ndarray]:
    """Points inside unit cells of ``[0, cells]^2``, away from cell edges, plus
    the two corners that fix the grid's bounds to exactly that square."""
    x = rng.integers(0, cells, n) + rng.uniform(0.05, 0.95, n)
    y = rng.integers(0, cells, n) + rng.uniform(0.05, 0.95, n)
    return np.r_[x, 0.0, cells], np.r_[y, 0.0, cells]


def test_cell_counts_equal_a_direct_histogram():
    rng = np.random.default_rng(0)
    x, y = lattice_points(rng, 20_000, 32)
    index = GridIndex(x, y, cells=32)
    assert index.bounds == (0.0, 32.0, 0.0, 32.0)
    # rows of histogram2d(y, x) are y bins: the index's row-major (cy, cx)
    expected, _, _ = np.histogram2d(y, x, bins=32, range=[[0, 32], [0, 32]])
    np.testing.assert_array_equal(index.cell_counts(), expected.astype(np.int64))
    assert index.cell_counts().sum() == len(x)
    # every point sits in its cell's slice, in the original coordinates
    np.testing.assert_array_equal(index.xs, x.astype(np.float32)[index.order])
    assert sorted(index.order.tolist()) == list(range(len(x)))


def test_non_finite_points_are_never_counted():
    x = np.array([0.0, 1.0, np.nan, 2.0, 0.5])
    y = np.array([0.0, 1.0, 0.5, np.inf, 0.5])
    index = GridIndex(x, y, cells=4)
    assert index.bounds == (0.0, 1.0, 0.0, 1.0)  # of the finite points only
    assert index.cell_counts().sum() == 3
    assert index.count_in_box((-10, -10, 10, 10)) == 3
    assert index.rows_in_box((-10, -10, 10, 10)).tolist() == [0, 1, 4]


def brute_rows(x, y, box) -> np.ndarray:
    x0, y0, x1, y1 = box
    x0, x1, y0, y1 = min(x0, x1), max(x0, x1), min(y0, y1), max(y0, y1)
    x, y = x.astype(np.float64), y.astype(np.float64)
    return np.flatnonzero((x >= x0) & (x <= x1) & (y >= y0) & (y <= y1))


def test_box_counts_equal_a_brute_force_count_on_random_boxes():
    rng = np.random.default_rng(1)
    n = 30_000
    blob = rng.integers(0, 5, n)
    x = (rng.normal(size=n) * 0.5 + blob).astype(np.float32)
    y = (rng.normal(size=n) * 0.3 - blob).astype(np.float32)
    index = GridIndex(x, y, cells=40)
    boxes = [tuple(rng.uniform(-3, 7, 4)) for _ in range(150)]
    # boxes whose edges are exactly on points (inclusive), inside one cell,
    # beyond the data, and a zero-width box on a point
    picks = rng.integers(0, n, (20, 2))
    boxes += [(x[a], y[a], x[b], y[b]) for a, b in picks]
    boxes += [(-100, -100, 100, 100), (50, 50, 60, 60), (x[0], y[0], x[0], y[0])]
    boxes += [(0.01, -0.01, 0.02, 0.0)]
    for box in boxes:
        expected = brute_rows(x, y, box)
        assert index.count_in_box(box) == len(expected), box
        np.testing.assert_array_equal(index.rows_in_box(box), expected)
    assert index.count_in_box((x[0], y[0], x[0], y[0])) >= 1


def test_a_bad_box_is_refused_by_value():
    index = GridIndex(np.arange(4.0), np.arange(4.0))
    with pytest.raises(ValueError, match=r"box bounds .* must be finite"):
        index.count_in_box((0, 0, np.nan, 1))
    with pytest.raises(ValueError, match=r"expected \(4,\)"):
        index.sort_values(np.ones(3))
    with pytest.raises(ValueError, match="must be equal"):
        GridIndex(np.ones(3), np.ones(4))


def test_view_slices_hold_every_point_of_the_view():
    rng = np.random.default_rng(2)
    x, y = rng.uniform(0, 10, (2, 5000))
    index = GridIndex(x, y, cells=16)
    for x_range, y_range in [((2.1, 3.7), (5.5, 9.0)), ((-5, 20), (-5, 20))]:
        starts, stops, checked = index.view_slices(x_range, y_range)
        pairs = zip(starts, stops, strict=True)
        seen = np.concatenate([index.order[a:b] for a, b in pairs])
        inside = brute_rows(x, y, (x_range[0], y_range[0], x_range[1], y_range[1]))
        assert set(inside) <= set(seen.tolist())
        assert len(seen) == len(set(seen.tolist()))  # no point visited twice
        # the unchecked slices hold only points strictly inside the view
        assert (~checked).any()
        for a, b in zip(starts[~checked], stops[~checked], strict=True):
            px, py = index.xs[a:b], index.ys[a:b]
            assert ((px > x_range[0]) & (px < x_range[1])).all()
            assert ((py > y_range[0]) & (py < y_range[1])).all()
    # a zoomed-in view visits a small part of the points
    starts, stops, _ = index.view_slices((2.1, 2.6), (5.5, 6.0))
    assert (stops - starts).sum() < len(x) / 20


def test_index_is_shared_per_owner_and_sized_by_points():
    class Owner:
        pass

    owner, other = Owner(), Owner()
    x = np.arange(100.0)
    first = index_for(owner, x, x)
    assert index_for(owner, x, x) is first
    assert index_for(other, x, x) is not first
    assert default_cells(10) == 8 and default_cells(10_000_000) == 1024
    assert first.nbytes >= 3 * 4 * 100
