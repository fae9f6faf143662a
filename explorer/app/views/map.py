"""The datashaded 2-D map: every source, coloured by a field, with hover,
tap, box and lasso selection resolved server-side.

Zoom is tuned as measured in ``shared/notes/fast-zoom.md``: a plain Bokeh
figure (no HoloViews streams) whose image glyph is an RGBA datashader render
computed server-side when the axis ranges change, with Bokeh's level-of-detail
mode off, a fixed frame size (no second render when tick labels change width)
and a short trailing debounce, so one wheel gesture gives one render. The
browser only blits the RGBA image; colour mapping happens here with the same
palette and limits as the colour bar's mapper (:func:`colorize`), so the bar
always matches the shading.
"""

from __future__ import annotations

import logging
import math
from functools import partial

import colorcet
import datashader as ds
import datashader.transfer_functions as tf
import numpy as np
import pandas as pd
import panel as pn
import param
from bokeh import events
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
from bokeh.palettes import Viridis256
from bokeh.plotting import figure

from explorer.app import data as mapdata
from explorer.app.state import AppState

log = logging.getLogger(__name__)

FRAME_WIDTH = 500
FRAME_HEIGHT = 450
#: hover / tap search radius in screen pixels
PICK_RADIUS_PX = 8
#: most members of a saved cluster drawn as markers
MAX_CLUSTER_MARKERS = 20_000
#: trailing debounce of RangesUpdate events (ms): events within this interval
#: (e.g. queued while a render ran) give one render, of the latest range
RANGE_DEBOUNCE_MS = 5
#: dynspread of the RGBA image (isolated points grow up to ``max_px`` pixels)
SPREAD_THRESHOLD = 0.6
SPREAD_MAX_PX = 3
BACKGROUND = "#0b0d12"
_GREY = "#4a4a4a"


def _field_values(state: AppState, field: str) -> np.ndarray:
    """Per-row values of colour ``field`` (``(N,)`` float64)."""
    data = state.data
    if field == mapdata.COUNT:
        return np.ones(data.n)
    if field == mapdata.SAVED_CLUSTER:
        from explorer.store.annotations import Annotations

        notes = Annotations.of_store(state.store)
        values = np.full(data.n, -1.0)
        for index, name in enumerate(notes.names()):
            members = notes.members(name)
            members = members[np.isin(members, data.ids)]
            rows = data.rows_of(members)
            values[rows] = np.where(values[rows] < 0, index, values[rows])
        return values
    if field == mapdata.NEIGHBOURHOOD_CHANGE:
        from explorer.analysis.diff import neighbourhood_change

        previous = state.previous_version
        return np.asarray(
            neighbourhood_change(state.store, previous, state.version), dtype=np.float64
        )
    return data.table[field].to_numpy(dtype=np.float64)


def style_for(field: str, values: np.ndarray) -> dict:
    """Aggregator and colour-map options for ``field``.

    Parameters
    ----------
    field : str
        Colour field (:data:`explorer.app.data.COUNT`, a categorical field or
        a numeric column).
    values : ndarray
        ``(N,)`` values of the field (used for the colour limits).

    Returns
    -------
    dict
        ``aggregator`` (datashader reduction on column ``value``) and ``opts``:
        ``cmap`` (list of hex colours), ``cnorm`` (``"linear"``/``"log"``),
        ``clim`` (``(low, high)``, None for count: the render's own range),
        ``clabel`` and, for categorical fields, ``ticks``.
    """
    if field == mapdata.COUNT:
        return {
            "aggregator": ds.count(),
            "opts": {
                "cmap": list(colorcet.fire[90:]),
                "cnorm": "log",
                "clim": None,
                "clabel": "sources per pixel",
            },
        }
    if field in mapdata.CATEGORICAL:
        finite = values[np.isfinite(values)]
        n_cat = int(finite.max()) + 1 if finite.size else 1
        n_cat = max(n_cat, 1)
        cmap = [_GREY, *colorcet.glasbey_light[: min(n_cat, 255)]]
        step = max(1, len(cmap) // 12)
        return {
            "aggregator": ds.max("value"),
            "opts": {
                "cmap": cmap,
                "cnorm": "linear",
                "clim": (-1.5, len(cmap) - 1.5),
                "ticks": list(range(-1, len(cmap) - 1, step)),
                "clabel": f"{field} (grey = none)",
            },
        }
    finite = values[np.isfinite(values)]
    if finite.size:
        lo, hi = np.percentile(finite, [1, 99])
        if hi <= lo:
            lo, hi = float(finite.min()), float(finite.max()) + 1e-9
    else:
        lo, hi = 0.0, 1.0
    return {
        "aggregator": ds.mean("value"),
        "opts": {
            "cmap": list(Viridis256),
            "cnorm": "linear",
            "clim": (float(lo), float(hi)),
            "clabel": f"mean {field}",
        },
    }


def palette_rgba(colors: list[str]) -> np.ndarray:
    """``(P,)`` uint32 RGBA words (little-endian R, G, B, A bytes) of hex colours."""
    rgb = np.array(
        [[int(c.lstrip("#")[i : i + 2], 16) for i in (0, 2, 4)] for c in colors],
        dtype=np.uint32,
    )
    return rgb[:, 0] | (rgb[:, 1] << 8) | (rgb[:, 2] << 16) | np.uint32(255 << 24)


def colorize(
    agg: np.ndarray, palette: np.ndarray, low: float, high: float, log: bool = False
) -> np.ndarray:
    """Map an aggregate to RGBA exactly as Bokeh's colour mappers do.

    Value ``v`` gets ``palette[floor((v - low) / (high - low) * P)]`` (on
    ``log v`` for ``log=True``), clipped to the palette's ends, as
    ``LinearColorMapper``/``LogColorMapper`` with the same palette and limits
    colour the colour bar. Empty pixels (NaN, or ``<= 0`` for ``log``) are
    transparent.

    Parameters
    ----------
    agg : ndarray
        ``(H, W)`` aggregate.
    palette : ndarray
        ``(P,)`` uint32 RGBA words (:func:`palette_rgba`).
    low, high : float
        Colour limits (``0 < low`` for ``log``).
    log : bool
        Logarithmic normalisation.

    Returns
    -------
    ndarray
        ``(H, W)`` uint32 RGBA image.

    Raises
    ------
    ValueError
        If ``high <= low`` or ``log`` with ``low <= 0``.
    """
    if not high > low:
        msg = f"colour limits must have high > low, got ({low}, {high})"
        raise ValueError(msg)
    if log and low <= 0:
        msg = f"log colour limits need low > 0, got {low}"
        raise ValueError(msg)
    values = np.asarray(agg, dtype=np.float64)
    empty = ~np.isfinite(values)
    if log:
        empty |= values <= 0
        with np.errstate(divide="ignore", invalid="ignore"):
            values = np.log(values)
        low, high = math.log(low), math.log(high)
    n = len(palette)
    with np.errstate(invalid="ignore"):
        index = np.floor((values - low) / (high - low) * n)
    index = np.clip(np.nan_to_num(index, nan=0.0), 0, n - 1).astype(np.intp)
    image = palette[index]
    image[empty] = 0
    return image


class MapRenderer:
    """Server-side RGBA renders of one colour field of a point table.

    Parameters
    ----------
    x, y : ndarray
        ``(N,)`` map coordinates.
    values : ndarray
        ``(N,)`` values of the colour field.
    style : dict
        :func:`style_for` of the field.
    width, height : int
        Image size in pixels (the plot frame's size).
    """

    def __init__(
        self,
        x: np.ndarray,
        y: np.ndarray,
        values: np.ndarray,
        style: dict,
        width: int = FRAME_WIDTH,
        height: int = FRAME_HEIGHT,
    ) -> None:
        # a DataFrame sorted by x, so that a zoomed-in render aggregates only
        # the slice of points inside the x range (a view, not a copy)
        x = np.asarray(x, dtype=np.float32)
        order = np.argsort(x, kind="stable")
        self.frame = pd.DataFrame(
            {
                "x": x[order],
                "y": np.asarray(y, dtype=np.float32)[order],
                "value": np.asarray(values, dtype=np.float32)[order],
            }
        )
        self._sorted_x = self.frame["x"].to_numpy()
        self.style = style
        self.width, self.height = int(width), int(height)
        opts = style["opts"]
        self.palette = palette_rgba(opts["cmap"])
        self.log = opts["cnorm"] == "log"
        self.clim = opts["clim"]

    def limits(self, agg: np.ndarray) -> tuple[float, float]:
        """Colour limits of one render (the fixed ``clim``, or for count
        ``1 .. max``)."""
        if self.clim is not None:
            return self.clim
        top = float(np.nanmax(agg)) if agg.size else 1.0
        return 1.0, max(top, 2.0)

    def render(self, x_range, y_range) -> tuple[np.ndarray, tuple[float, float]]:
        """RGBA image of the view and the colour limits it used.

        Parameters
        ----------
        x_range, y_range : tuple of float
            ``(start, end)`` of the view in map units.

        Returns
        -------
        image : ndarray
            ``(height, width)`` uint32 RGBA, row 0 at ``y_range[0]``.
        limits : tuple of float
            ``(low, high)`` of the colour mapping.
        """
        x_range = (float(min(x_range)), float(max(x_range)))
        y_range = (float(min(y_range)), float(max(y_range)))
        canvas = ds.Canvas(
            plot_width=self.width,
            plot_height=self.height,
            x_range=x_range,
            y_range=y_range,
        )
        start = np.searchsorted(self._sorted_x, x_range[0], side="left")
        stop = np.searchsorted(self._sorted_x, x_range[1], side="right")
        points = self.frame
        if stop - start < len(points):
            points = points.iloc[start:stop]
        agg = canvas.points(points, "x", "y", agg=self.style["aggregator"])
        values = agg.data
        low, high = self.limits(values)
        rgba = colorize(values, self.palette, low, high, log=self.log)
        image = tf.Image(rgba, coords=agg.coords, dims=agg.dims)
        spread = tf.dynspread(
            image, threshold=SPREAD_THRESHOLD, max_px=SPREAD_MAX_PX, shape="circle"
        )
        return np.ascontiguousarray(spread.data, dtype=np.uint32), (low, high)


def warm_up(x: np.ndarray, y: np.ndarray) -> None:
    """Compile datashader's kernels of every map style (server start-up)."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.size == 0:
        return
    values = np.arange(x.size, dtype=np.float64) % 3
    for field in (mapdata.COUNT, "cluster", "anomaly_score"):
        renderer = MapRenderer(x, y, values, style_for(field, values))
        # the full view and a zoomed-in one take different compiled paths
        for zoom in (1.0, 0.3):
            x_half = float(np.ptp(x)) * zoom / 2 + 1e-6
            y_half = float(np.ptp(y)) * zoom / 2 + 1e-6
            x_mid, y_mid = float(np.median(x)), float(np.median(y))
            renderer.render(
                (x_mid - x_half, x_mid + x_half), (y_mid - y_half, y_mid + y_half)
            )


def _color_bar(style: dict, limits) -> ColorBar:
    opts = style["opts"]
    mapper_type = LogColorMapper if opts["cnorm"] == "log" else LinearColorMapper
    mapper = mapper_type(palette=opts["cmap"], low=limits[0], high=limits[1])
    extra = {"ticker": FixedTicker(ticks=opts["ticks"])} if "ticks" in opts else {}
    return ColorBar(
        color_mapper=mapper,
        title=opts["clabel"],
        width=12,
        location=(0, 0),
        background_fill_alpha=0,
        **extra,
    )


class MapView(pn.viewable.Viewer):
    """The map pane; writes ``hovered_id``, the selection, similar queries and
    ``view`` into the state and reads colour field, version and overlays.

    Attributes
    ----------
    figure : bokeh.plotting.figure
        The map figure (RGBA image, overlays, colour bar).
    """

    state = param.ClassSelector(class_=AppState)

    def __init__(self, state: AppState, **params) -> None:
        super().__init__(state=state, **params)
        self._renderer: MapRenderer | None = None
        self._pending = None
        self.renders = 0  # number of images rendered (for tests and benches)
        self.figure = self._make_figure()
        self._pane = pn.pane.Bokeh(self.figure, sizing_mode="fixed")
        self._rebuild()
        self._update_anomalies()
        self._update_cluster()
        self._update_outline()
        self.state.param.watch(lambda *_: self._rebuild(), ["version", "color_field"])
        self.state.param.watch(self._on_clusters_changed, ["clusters_changed"])
        self.state.param.watch(
            lambda *_: self._update_anomalies(),
            ["show_anomalies", "anomaly_k", "version"],
        )
        self.state.param.watch(
            lambda *_: self._update_cluster(),
            ["shown_cluster", "clusters_changed", "version"],
        )
        self.state.param.watch(
            lambda *_: self._update_outline(), ["selection_geometry"]
        )

    def __panel__(self):
        return self._pane

    # ------------------------------------------------------------ building
    def _make_figure(self):
        (x0, x1), (y0, y1) = self._limits()
        self._image_source = ColumnDataSource(
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
            toolbar_location="above",
            background_fill_color=BACKGROUND,
            x_axis_label="map x",
            y_axis_label="map y",
            lod_interval=0,
            lod_timeout=0,
        )
        fig.grid.visible = False
        image = fig.image_rgba("image", "x", "y", "dw", "dh", source=self._image_source)
        self._anomaly_source = ColumnDataSource({"x": [], "y": []})
        fig.scatter(
            "x",
            "y",
            source=self._anomaly_source,
            marker="circle",
            size=11,
            fill_alpha=0,
            line_color="#ff4d6d",
            line_width=1.6,
        )
        self._cluster_source = ColumnDataSource({"x": [], "y": []})
        fig.scatter(
            "x",
            "y",
            source=self._cluster_source,
            marker="diamond",
            size=6,
            color="#7df9ff",
            alpha=0.8,
        )
        self._outline_source = ColumnDataSource({"x": [], "y": []})
        fig.line(
            "x",
            "y",
            source=self._outline_source,
            color="white",
            line_dash="dashed",
            line_width=1.5,
        )
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
        self._color_bar = ColorBar(
            color_mapper=LinearColorMapper(palette=["#000000"], low=0, high=1),
            width=12,
        )
        fig.add_layout(self._color_bar, "right")
        for axis_range in (fig.x_range, fig.y_range):
            axis_range.on_change("start", self._on_range_change)
            axis_range.on_change("end", self._on_range_change)
        fig.on_event(events.RangesUpdate, self._on_ranges_update)
        fig.on_event(events.MouseMove, self._on_pointer)
        fig.on_event(events.Tap, self._on_tap)
        fig.on_event(events.SelectionGeometry, self._on_selection)
        return fig

    def _on_clusters_changed(self, *_):
        if self.state.color_field == mapdata.SAVED_CLUSTER:
            self._rebuild()

    def _rebuild(self) -> None:
        """New colour field or version: new renderer, colour bar and title."""
        state = self.state
        try:
            data = state.data
            values = _field_values(state, state.color_field)
            style = style_for(state.color_field, values)
            renderer = MapRenderer(data.x, data.y, values, style)
            image, limits = renderer.render(*self._view_ranges())
            color_bar = _color_bar(style, limits)
        except Exception as exc:  # shown to the user, the old map stays
            log.exception("map build failed")
            self.state.notify(
                "error",
                f"Cannot draw the map coloured by "
                f"{self.state.color_field!r}: {exc}. Choose another field.",
            )
            return
        self._renderer = renderer
        bar = self._color_bar
        bar.color_mapper = color_bar.color_mapper
        bar.title = color_bar.title
        bar.ticker = color_bar.ticker
        self.figure.title.text = (
            f"{data.n:,} sources · version {state.version} · {state.color_field}"
        )
        self._show(image, limits, *self._view_ranges())

    def _limits(self):
        view = self.state.view
        if view and len(view) == 4:
            return (view[0], view[1]), (view[2], view[3])
        data = self.state.data
        if data.n == 0:
            return (0, 1), (0, 1)
        pad_x = (data.x.max() - data.x.min()) * 0.03 or 1.0
        pad_y = (data.y.max() - data.y.min()) * 0.03 or 1.0
        return (
            (float(data.x.min() - pad_x), float(data.x.max() + pad_x)),
            (float(data.y.min() - pad_y), float(data.y.max() + pad_y)),
        )

    def _view_ranges(self):
        xr, yr = self.figure.x_range, self.figure.y_range
        return (xr.start, xr.end), (yr.start, yr.end)

    # ------------------------------------------------------------ rendering
    def _show(self, image, limits, x_range, y_range) -> None:
        x0, y0 = min(x_range), min(y_range)
        mapper = self._color_bar.color_mapper
        if (mapper.low, mapper.high) != tuple(limits):
            mapper.update(low=limits[0], high=limits[1])
        self._image_source.data = {
            "image": [image],
            "x": [x0],
            "y": [y0],
            "dw": [abs(x_range[1] - x_range[0])],
            "dh": [abs(y_range[1] - y_range[0])],
        }
        self.renders += 1

    def render_view(self) -> None:
        """Render the figure's current x/y range now and push the image."""
        self._pending = None
        if self._renderer is None:
            return
        x_range, y_range = self._view_ranges()
        if None in (*x_range, *y_range) or x_range[0] == x_range[1]:
            return
        if y_range[0] == y_range[1]:
            return
        image, limits = self._renderer.render(x_range, y_range)
        self._show(image, limits, x_range, y_range)
        view = [float(f"{v:.6g}") for v in (*x_range, *y_range)]
        if view != self.state.view:
            # on the next tick, so that the URL change is sent now rather
            # than with the next event of the plot
            pn.state.execute(partial(setattr, self.state, "view", view), schedule=True)

    def _served(self) -> bool:
        doc = self.figure.document
        return doc is not None and doc.session_context is not None

    def _on_range_change(self, attr, old, new) -> None:
        # in a browser session the ranges change property by property (two
        # messages per wheel event): renders follow RangesUpdate instead; this
        # handles ranges set from Python (no session)
        if not self._served():
            self.render_view()

    def _on_ranges_update(self, event) -> None:
        # one RangesUpdate per wheel event / pan or reset gesture, sent at the
        # end of Bokeh's interaction (immediately with the LOD mode off);
        # events arriving within RANGE_DEBOUNCE_MS give one render
        if not self._served():
            self.render_view()
            return
        doc = self.figure.document
        if self._pending is not None:
            try:
                doc.remove_timeout_callback(self._pending)
            except ValueError:  # it already ran
                pass
        self._pending = doc.add_timeout_callback(self.render_view, RANGE_DEBOUNCE_MS)

    # ------------------------------------------------------------ overlays
    def _update_anomalies(self) -> None:
        data = self.state.data
        if self.state.show_anomalies:
            rows = self.state.top_anomalies(self.state.anomaly_k)
        else:
            rows = np.zeros(0, dtype=np.int64)
        self._anomaly_source.data = {"x": data.x[rows], "y": data.y[rows]}

    def _update_cluster(self) -> None:
        rows = np.zeros(0, dtype=np.int64)
        data = self.state.data
        if self.state.shown_cluster:
            from explorer.store.annotations import Annotations

            members = Annotations.of_store(self.state.store).members(
                self.state.shown_cluster
            )
            members = members[np.isin(members, data.ids)][:MAX_CLUSTER_MARKERS]
            rows = data.rows_of(members)
        self._cluster_source.data = {"x": data.x[rows], "y": data.y[rows]}

    def _update_outline(self) -> None:
        geometry = self.state.selection_geometry
        xs, ys = [], []
        if geometry:
            coords = geometry["coords"]
            if geometry["kind"] == "box":
                x0, y0, x1, y1 = coords
                coords = [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
            ring = [tuple(c) for c in coords]
            ring.append(ring[0])
            xs = [float(c[0]) for c in ring]
            ys = [float(c[1]) for c in ring]
        self._outline_source.data = {"x": xs, "y": ys}

    # ------------------------------------------------------------- events
    def _radius(self) -> float:
        (x0, x1), _ = self._view_ranges()
        return abs(x1 - x0) / FRAME_WIDTH * PICK_RADIUS_PX

    def _on_pointer(self, event) -> None:
        if event.x is None or event.y is None:
            return
        self.state.hover_at(event.x, event.y, self._radius())

    def _on_tap(self, event) -> None:
        source_id = self.state.id_at(event.x, event.y, self._radius())
        if source_id is not None:
            self.state.query_similar([source_id])

    def _on_selection(self, event) -> None:
        geometry = event.geometry or {}
        if not event.final:
            return
        kind = geometry.get("type")
        if kind == "rect":
            bounds = tuple(geometry[k] for k in ("x0", "y0", "x1", "y1"))
            self._select(lambda: self.state.select_box(bounds))
        elif kind == "poly":
            vertices = np.column_stack([geometry["x"], geometry["y"]])
            if len(vertices) >= 3:
                self._select(lambda: self.state.select_polygon(vertices))

    def _select(self, resolve) -> None:
        try:
            ids = resolve()
        except ValueError as exc:
            self.state.notify("warning", f"Selection ignored: {exc}")
            return
        if len(ids) == 0:
            self.state.notify(
                "info", "No sources inside the selection; draw a larger shape."
            )
