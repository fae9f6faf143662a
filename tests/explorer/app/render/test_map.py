"""The map render engine without Panel or Bokeh: colour mapping as Bokeh's
mappers do it, field styles, zoomed renders against a full aggregation, the
colour bar, the initial view and the selection outline."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from explorer.app import data as mapdata
from explorer.app.render.map import (
    SPREAD_MAX_PX,
    MapRenderer,
    color_bar_spec,
    colorize,
    initial_ranges,
    outline,
    palette_rgba,
    style_for,
)


def test_colorize_matches_bokeh_mappers():
    palette = palette_rgba(["#000001", "#000002", "#000003", "#000004"])
    agg = np.array([[-1.0, 0.5, 1.0, 3.99, 4.0, np.nan]])
    image = colorize(agg, palette, 0.0, 4.0)
    # floor((v - low) / (high - low) * 4), clipped; NaN transparent
    assert ((image[0, :5] >> 16) & 0xFF).tolist() == [1, 1, 2, 4, 4]
    assert (image[0, :5] >> 24 == 255).all() and image[0, 5] == 0
    two = palette_rgba(["#ff0000", "#00ff00"])
    counts = np.array([[0, 1, 5, 20, 100]])
    logged = colorize(counts, two, 1.0, 100.0, log=True)
    # log10: 0, 0.35, 0.65, 1 of the way from 1 to 100
    assert logged[0, 0] == 0
    assert [int(v & 0xFF) for v in logged[0, 1:]] == [255, 255, 0, 0]
    with pytest.raises(ValueError, match="high > low"):
        colorize(agg, palette, 1.0, 1.0)
    with pytest.raises(ValueError, match="low > 0"):
        colorize(agg, palette, 0.0, 1.0, log=True)


def test_style_for_fields():
    values = np.array([-1.0, 0.0, 3.0, np.nan])
    style = style_for("cluster", values)
    assert len(style["opts"]["cmap"]) == 5  # grey + 4 clusters
    assert style["opts"]["clim"] == (-1.5, 3.5)
    # cluster k lands on palette entry k + 1 of the colour bar's mapper
    palette = palette_rgba(style["opts"]["cmap"])
    image = colorize(values[None, :3], palette, *style["opts"]["clim"])
    assert image[0].tolist() == palette[[0, 1, 4]].tolist()
    numeric = style_for("mag_r", np.arange(101.0))
    assert numeric["opts"]["clim"] == (1.0, 99.0)
    assert style_for(mapdata.COUNT, values)["opts"]["cnorm"] == "log"


def test_zoomed_render_matches_a_full_aggregation():
    import datashader as ds

    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(2, 5000))
    values = rng.uniform(0, 10, 5000)
    style = style_for("mag_r", values)
    renderer = MapRenderer(x, y, values, style, width=40, height=30)
    x_range, y_range = (-0.7, 0.4), (-1.0, 1.0)
    image, limits = renderer.render(x_range, y_range)
    assert image.shape == (30, 40) and limits == style["opts"]["clim"]
    # every pixel holding points (aggregated over ALL points, not the
    # x-sorted slice) is opaque with its mean's colour before spreading
    canvas = ds.Canvas(plot_width=40, plot_height=30, x_range=x_range, y_range=y_range)
    frame = pd.DataFrame({"x": x, "y": y, "value": values})
    mean = canvas.points(frame, "x", "y", agg=ds.mean("value")).data
    filled = np.isfinite(mean)
    assert filled.sum() > 100
    expected = colorize(mean, palette_rgba(style["opts"]["cmap"]), *limits)
    assert (image[filled] == expected[filled]).mean() > 0.9  # spread may overdraw
    assert ((image >> 24) > 0)[filled].all()
    # empty pixels far (> max_px) from any point stay transparent
    near = filled.copy()
    for _ in range(SPREAD_MAX_PX):
        near[1:] |= near[:-1]
        near[:-1] |= near[1:]
        near[:, 1:] |= near[:, :-1]
        near[:, :-1] |= near[:, 1:]
    assert ((image >> 24) == 0)[~near].all()


def test_color_bar_spec_matches_the_style():
    values = np.array([-1.0, 0.0, 2.0])
    spec = color_bar_spec(style_for("cluster", values), (-1.5, 2.5))
    assert spec.palette == style_for("cluster", values)["opts"]["cmap"]
    assert (spec.low, spec.high, spec.log) == (-1.5, 2.5, False)
    assert spec.ticks == [-1, 0, 1, 2] and "grey = none" in spec.title
    count = color_bar_spec(style_for(mapdata.COUNT, values), (1.0, 7.0))
    assert count.log and count.ticks is None and count.title == "sources per pixel"


def test_count_limits_follow_the_render():
    x = np.zeros(5)
    renderer = MapRenderer(x, x, np.ones(5), style_for(mapdata.COUNT, np.ones(5)))
    assert renderer.limits(np.array([[0.0, 5.0]])) == (1.0, 5.0)
    assert renderer.limits(np.array([[np.nan, 1.0]])) == (1.0, 2.0)


def test_initial_ranges_pad_every_point():
    x, y = np.array([0.0, 10.0]), np.array([5.0, 5.0])
    (x0, x1), (y0, y1) = initial_ranges(x, y)
    assert (x0, x1) == (pytest.approx(-0.3), pytest.approx(10.3))
    assert (y0, y1) == (4.0, 6.0)  # a zero span gets one map unit
    assert initial_ranges(np.zeros(0), np.zeros(0)) == ((0, 1), (0, 1))


def test_outline_closes_boxes_and_lassos():
    assert outline(None) == ([], [])
    xs, ys = outline({"kind": "box", "coords": [0, 1, 2, 3]})
    assert xs == [0, 2, 2, 0, 0] and ys == [1, 1, 3, 3, 1]
    xs, ys = outline({"kind": "lasso", "coords": [[0, 0], [1, 0], [0, 1]]})
    assert xs == [0, 1, 0, 0] and ys == [0, 0, 1, 0]
