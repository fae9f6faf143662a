"""The map's aggregation kernel against datashader's ``Canvas.points``: the
same pixels for count, mean and max, in one thread and split among threads."""

from __future__ import annotations

import datashader as ds
import numpy as np
import pandas as pd
import pytest

from explorer.app.render import aggregate, kernels
from explorer.app.render.grid_index import GridIndex
from explorer.app.render.map import MapRenderer, style_for


def datashader_agg(x, y, values, reduction, x_range, y_range, shape):
    canvas = ds.Canvas(
        plot_width=shape[1], plot_height=shape[0], x_range=x_range, y_range=y_range
    )
    frame = pd.DataFrame({"x": x, "y": y, "value": values})
    return np.asarray(canvas.points(frame, "x", "y", agg=reduction).data, float)


@pytest.mark.parametrize("parallel", [False, True])
def test_aggregates_equal_datashaders(monkeypatch, parallel):
    if parallel:  # force the thread split on a small map
        monkeypatch.setattr(aggregate, "PARALLEL_MIN_POINTS", 0)
        monkeypatch.setattr(aggregate, "_THREADS", 3)
    rng = np.random.default_rng(4)
    n = 20_000
    x, y = rng.normal(size=(2, n)).astype(np.float32)
    values = rng.uniform(0, 9, n).astype(np.float32)
    values[::11] = np.nan
    index = GridIndex(x, y, cells=30)
    views = [((-1.0, 0.5), (-0.3, 1.2)), ((-6, 6), (-6, 6)), ((0.2, 0.25), (0, 0.1))]
    for reduction in (ds.count(), ds.mean("value"), ds.max("value")):
        mode = aggregate.kernel_mode(reduction)
        for x_range, y_range in views:
            got = aggregate.aggregate_view(
                index, index.sort_values(values), mode, x_range, y_range, (23, 31)
            )
            expected = datashader_agg(
                x, y, values, reduction, x_range, y_range, (23, 31)
            )
            np.testing.assert_allclose(got, expected, rtol=1e-12, equal_nan=True)


def test_count_of_points_on_the_far_edges_lands_in_the_last_pixel():
    x = np.array([0.0, 1.0, 1.0, 0.49])
    y = np.array([0.0, 1.0, 0.0, 0.99])
    renderer = MapRenderer(x, y, np.ones(4), style_for("count", np.ones(4)), 2, 2)
    # hand count: (0,0) and (0.49,0.99) in column 0; (1,0), (1,1) in column 1
    np.testing.assert_array_equal(
        renderer.aggregate((0, 1), (0, 1)), [[1.0, 1.0], [1.0, 1.0]]
    )
    assert renderer.aggregate((2, 3), (2, 3)).sum() == 0


def test_split_keeps_every_slice_once():
    starts = np.array([0, 10, 10, 50, 90])
    stops = np.array([10, 10, 50, 90, 100])
    for parts in (1, 2, 3, 7):
        runs = aggregate._split(starts, stops, parts)
        covered = np.concatenate([np.arange(len(starts))[r] for r in runs])
        assert covered.tolist() == list(range(len(starts)))


def test_an_unknown_reduction_is_refused():
    with pytest.raises(ValueError, match="'sum' is not one of"):
        aggregate.kernel_mode(ds.sum("value"))
    assert aggregate.kernel_mode(ds.count()) == kernels.COUNT
