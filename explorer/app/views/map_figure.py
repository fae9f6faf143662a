"""The Bokeh figure of the map view: an RGBA image glyph, the overlays and the
colour bar. Models only; what they show is set by
:class:`~explorer.app.views.map.MapView`."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from bokeh.models import (
    BoxSelectTool,
    ColorBar,
    ColumnDataSource,
    FixedTicker,
    LassoSelectTool,
    LinearColorMapper,
    LogColorMapper,
    PanTool,
    Range1d,
    ResetTool,
    TapTool,
    WheelZoomTool,
)
from bokeh.plotting import figure

from explorer.app.render.map import FRAME_HEIGHT, FRAME_WIDTH, ColorBarSpec

BACKGROUND = "#0b0d12"
#: names of the figure's renderers (``figure.select_one({"name": ...})``)
IMAGE, ANOMALIES, SAVED_CLUSTER, OUTLINE = (
    "map-image",
    "anomalies",
    "saved-cluster",
    "selection-outline",
)
#: renderers of the latest similar-images result and of its query
SIMILAR, SIMILAR_QUERY = "similar-results", "similar-query"
#: colour of the similar-images markers (the tiles' query outline colour)
SIMILAR_COLOR = "#ffd166"
#: renderer of the always-drawn top anomalies (above the image, any zoom)
TOP_ANOMALIES = "top-anomalies"
#: their outline: magenta, a colour of neither the count nor viridis palette
TOP_ANOMALY_COLOR = "#ff00ff"


@dataclass
class MapFigure:
    """The figure and the models a render or an overlay update writes to.

    Attributes
    ----------
    figure : bokeh.plotting.figure
        The plot (fixed ``FRAME_WIDTH`` x ``FRAME_HEIGHT`` frame, LOD off).
    image, anomalies, cluster, outline : ColumnDataSource
        Data of the RGBA image, the top-anomaly rings, the saved-cluster
        markers and the selection outline.
    similar, query : ColumnDataSource
        Squares on the latest similar-images results, a star on its query.
    top_anomalies : ColumnDataSource
        The version's top anomalies (``x, y, id, score, rank``), drawn as
        outlined triangles above the image by the renderer
        :data:`TOP_ANOMALIES`.
    color_bar : ColorBar
        The colour bar on the right.
    """

    figure: object
    image: ColumnDataSource
    anomalies: ColumnDataSource
    cluster: ColumnDataSource
    outline: ColumnDataSource
    color_bar: ColorBar
    similar: ColumnDataSource
    query: ColumnDataSource
    top_anomalies: ColumnDataSource


def color_bar(spec: ColorBarSpec) -> ColorBar:
    """The Bokeh colour bar of a :class:`~explorer.app.render.map.ColorBarSpec`."""
    mapper_type = LogColorMapper if spec.log else LinearColorMapper
    mapper = mapper_type(palette=spec.palette, low=spec.low, high=spec.high)
    extra = {} if spec.ticks is None else {"ticker": FixedTicker(ticks=spec.ticks)}
    return ColorBar(
        color_mapper=mapper,
        title=spec.title,
        width=12,
        location=(0, 0),
        background_fill_alpha=0,
        **extra,
    )


def build_figure(
    x_range: tuple[float, float], y_range: tuple[float, float]
) -> MapFigure:
    """A new map figure showing ``x_range`` x ``y_range`` (map units).

    Returns
    -------
    MapFigure
    """
    (x0, x1), (y0, y1) = x_range, y_range
    image_source = ColumnDataSource(
        {
            "image": [np.zeros((1, 1), dtype=np.uint32)],
            "x": [x0],
            "y": [y0],
            "dw": [x1 - x0],
            "dh": [y1 - y0],
        }
    )
    fig = figure(
        frame_width=FRAME_WIDTH,
        frame_height=FRAME_HEIGHT,
        x_range=Range1d(x0, x1),
        y_range=Range1d(y0, y1),
        tools=[],
        toolbar_location="right",
        background_fill_color=BACKGROUND,
        x_axis_label="map x",
        y_axis_label="map y",
        lod_interval=0,
        lod_timeout=0,
    )
    fig.grid.visible = False
    image = fig.image_rgba(
        "image", "x", "y", "dw", "dh", source=image_source, name=IMAGE
    )
    top = _add_top_anomalies(fig)
    anomalies, cluster, outline = _add_overlays(fig)
    similar, query = _add_similar_overlays(fig)
    _add_tools(fig, image)
    bar = ColorBar(
        color_mapper=LinearColorMapper(palette=["#000000"], low=0, high=1), width=12
    )
    fig.add_layout(bar, "right")
    return MapFigure(
        fig, image_source, anomalies, cluster, outline, bar, similar, query, top
    )


def _add_tools(fig, image) -> None:
    pan, wheel = PanTool(), WheelZoomTool()
    fig.add_tools(
        pan,
        wheel,
        BoxSelectTool(renderers=[image]),
        LassoSelectTool(renderers=[image]),
        TapTool(renderers=[image]),
        ResetTool(),
    )
    fig.toolbar.active_drag = pan
    fig.toolbar.active_scroll = wheel
    # six tools and no logo in a column beside the frame (450 px tall): nothing
    # folds into "⋮", as it did in the row above the plot, squeezed by the title
    fig.toolbar.logo = None


def _add_top_anomalies(fig) -> ColumnDataSource:
    """Outlined triangles on the top anomalies, drawn right above the image.

    Sized in screen pixels, so they stay visible at every zoom; unfilled, so
    the density under them shows through.
    """
    source = ColumnDataSource({"x": [], "y": [], "id": [], "score": [], "rank": []})
    fig.scatter(
        "x",
        "y",
        source=source,
        name=TOP_ANOMALIES,
        marker="triangle",
        size=10,
        fill_alpha=0,
        line_color=TOP_ANOMALY_COLOR,
        line_width=1.6,
    )
    return source


def _add_similar_overlays(fig) -> tuple[ColumnDataSource, ColumnDataSource]:
    """Open squares on the similar-images results and a star on the query."""
    similar, query = (
        ColumnDataSource({"x": [], "y": []}),
        ColumnDataSource({"x": [], "y": []}),
    )
    fig.scatter(
        "x",
        "y",
        source=similar,
        name=SIMILAR,
        marker="square",
        size=9,
        fill_alpha=0,
        line_color=SIMILAR_COLOR,
        line_width=1.4,
    )
    fig.scatter(
        "x",
        "y",
        source=query,
        name=SIMILAR_QUERY,
        marker="star",
        size=16,
        fill_color=SIMILAR_COLOR,
        line_color="black",
    )
    return similar, query


def _add_overlays(fig) -> tuple[ColumnDataSource, ColumnDataSource, ColumnDataSource]:
    """Top-anomaly rings, saved-cluster markers and the selection outline."""
    anomalies, cluster, outline = (
        ColumnDataSource({"x": [], "y": []}) for _ in range(3)
    )
    fig.scatter(
        "x",
        "y",
        source=anomalies,
        name=ANOMALIES,
        marker="circle",
        size=11,
        fill_alpha=0,
        line_color="#ff4d6d",
        line_width=1.6,
    )
    fig.scatter(
        "x",
        "y",
        source=cluster,
        name=SAVED_CLUSTER,
        marker="diamond",
        size=6,
        color="#7df9ff",
        alpha=0.8,
    )
    fig.line(
        "x",
        "y",
        source=outline,
        name=OUTLINE,
        color="white",
        line_dash="dashed",
        line_width=1.5,
    )
    return anomalies, cluster, outline
