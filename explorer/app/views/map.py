"""The datashaded 2-D map: every source, coloured by a field, with hover,
tap, box and lasso selection resolved server-side.

Zoom is tuned as measured in ``shared/notes/fast-zoom.md``: Bokeh level-of-
detail off (``lod_interval``/``lod_timeout`` 0), a fixed frame size (no second
render when tick labels change width), a short range debounce and a colour
normalisation the browser maps quickly (``linear``/``log``, not ``eq_hist``).
"""

from __future__ import annotations

import logging
from functools import partial

import colorcet
import datashader as ds
import holoviews as hv
import numpy as np
import pandas as pd
import panel as pn
import param
from bokeh.models import FixedTicker
from holoviews.operation.datashader import dynspread, rasterize
from holoviews.plotting.bokeh.callbacks import RangeXYCallback

from explorer.app import data as mapdata
from explorer.app.state import AppState

log = logging.getLogger(__name__)

# One render per zoom gesture: the default 100 ms debounce on top of Bokeh's
# LOD timeout doubled the latency (fast-zoom.md).
RangeXYCallback.debounce = 20

FRAME_WIDTH = 500
FRAME_HEIGHT = 450
#: hover / tap search radius in screen pixels
PICK_RADIUS_PX = 8
#: most members of a saved cluster drawn as markers
MAX_CLUSTER_MARKERS = 20_000
_GREY = "#4a4a4a"
LOD_OFF = {"plot.lod_interval": 0, "plot.lod_timeout": 0}


def _field_values(state: AppState, field: str) -> np.ndarray:
    """Per-row values of colour ``field`` (``(N,)`` float64)."""
    data = state.data
    if field == mapdata.COUNT:
        return np.ones(data.n)
    if field == mapdata.SAVED_CLUSTER:
        from explorer.annotations import Annotations

        notes = Annotations.of_store(state.store)
        values = np.full(data.n, -1.0)
        for index, name in enumerate(notes.names()):
            members = notes.members(name)
            members = members[np.isin(members, data.ids)]
            rows = data.rows_of(members)
            values[rows] = np.where(values[rows] < 0, index, values[rows])
        return values
    if field == mapdata.NEIGHBOURHOOD_CHANGE:
        from explorer.diff import neighbourhood_change

        previous = state.previous_version
        return np.asarray(
            neighbourhood_change(state.store, previous, state.version), dtype=np.float64
        )
    return data.table[field].to_numpy(dtype=np.float64)


def style_for(field: str, values: np.ndarray) -> dict:
    """Aggregator and colour-map options for ``field``.

    Returns
    -------
    dict
        ``aggregator`` (datashader reduction on column ``value``) and ``opts``
        (HoloViews Image options: cmap, cnorm, clim, clabel).
    """
    if field == mapdata.COUNT:
        return {
            "aggregator": ds.count(),
            "opts": {
                "cmap": colorcet.fire[90:],
                "cnorm": "log",
                "clabel": "sources per pixel",
            },
        }
    if field in mapdata.CATEGORICAL:
        finite = values[np.isfinite(values)]
        n_cat = int(finite.max()) + 1 if finite.size else 1
        n_cat = max(n_cat, 1)
        cmap = [_GREY, *colorcet.glasbey_light[: min(n_cat, 255)]]
        step = max(1, len(cmap) // 12)
        ticks = list(range(-1, len(cmap) - 1, step))
        return {
            "aggregator": ds.max("value"),
            "opts": {
                "cmap": cmap,
                "cnorm": "linear",
                "clim": (-1.5, len(cmap) - 1.5),
                "colorbar_opts": {"ticker": FixedTicker(ticks=ticks)},
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
            "cmap": "viridis",
            "cnorm": "linear",
            "clim": (float(lo), float(hi)),
            "clabel": f"mean {field}",
        },
    }


class MapView(pn.viewable.Viewer):
    """The map pane; writes ``hovered_id``, the selection, similar queries and
    ``view`` into the state and reads colour field, version and overlays."""

    state = param.ClassSelector(class_=AppState)

    def __init__(self, state: AppState, **params) -> None:
        super().__init__(state=state, **params)
        self._pane = pn.pane.HoloViews(None, sizing_mode="fixed", linked_axes=False)
        self._range = (None, None, None, None)
        self._rebuild()
        self.state.param.watch(lambda *_: self._rebuild(), ["version", "color_field"])
        self.state.param.watch(self._on_clusters_changed, ["clusters_changed"])

    def __panel__(self):
        return self._pane

    # ------------------------------------------------------------ building
    def _on_clusters_changed(self, *_):
        if self.state.color_field == mapdata.SAVED_CLUSTER:
            self._rebuild()

    def _rebuild(self) -> None:
        try:
            self._pane.object = self._build()
        except Exception as exc:  # shown to the user, the old map stays
            log.exception("map build failed")
            self.state.notify(
                "error",
                f"Cannot draw the map coloured by "
                f"{self.state.color_field!r}: {exc}. Choose another field.",
            )

    def _build(self):
        state = self.state
        data = state.data
        field = state.color_field
        values = _field_values(state, field)
        style = style_for(field, values)
        # a DataFrame, which datashader aggregates without a per-render copy
        frame = pd.DataFrame(
            {
                "x": data.x.astype(np.float32),
                "y": data.y.astype(np.float32),
                "value": values.astype(np.float32),
            }
        )
        points = hv.Points(frame, kdims=["x", "y"], vdims=["value"])
        xlim, ylim = self._limits()
        rasterized = rasterize(
            points,
            aggregator=style["aggregator"],
            width=FRAME_WIDTH,
            height=FRAME_HEIGHT,
            dynamic=True,
        )
        # reuse rasterize's own range stream: a second RangeXY on the plot
        # would be a second callback per zoom
        ranges = next(
            s for s in rasterized.streams if isinstance(s, hv.streams.RangeXY)
        )
        raster = dynspread(
            rasterized,
            threshold=0.6,
            max_px=3,
        ).opts(
            **style["opts"],
            colorbar=True,
            frame_width=FRAME_WIDTH,
            frame_height=FRAME_HEIGHT,
            xlim=xlim,
            ylim=ylim,
            bgcolor="#0b0d12",
            clipping_colors={"NaN": "#0b0d12"},
            tools=["box_select", "lasso_select", "tap"],
            active_tools=["wheel_zoom", "pan"],
            default_tools=["pan", "wheel_zoom", "reset"],
            xlabel="map x",
            ylabel="map y",
            toolbar="above",
            backend_opts=LOD_OFF,
            title=f"{data.n:,} sources · version {state.version} · {field}",
        )
        self._watch_streams(raster, ranges)
        overlay = (
            raster
            * self._anomaly_overlay()
            * self._cluster_overlay()
            * self._selection_overlay()
        )
        # the figure belongs to the overlay: Bokeh's level-of-detail mode
        # delays the range update by lod_timeout (500 ms) unless turned off here
        return overlay.opts(hv.opts.Overlay(backend_opts=LOD_OFF))

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

    def _watch_streams(self, raster, ranges) -> None:
        pointer = hv.streams.PointerXY(source=raster)
        tap = hv.streams.Tap(source=raster)
        box = hv.streams.BoundsXY(source=raster)
        lasso = hv.streams.Lasso(source=raster)
        pointer.add_subscriber(self._on_pointer)
        tap.add_subscriber(self._on_tap)
        box.add_subscriber(self._on_box)
        lasso.add_subscriber(self._on_lasso)
        ranges.add_subscriber(self._on_range)

    # ------------------------------------------------------------ overlays
    def _anomaly_overlay(self):
        def markers(show_anomalies, anomaly_k, version):
            if not show_anomalies:
                return hv.Points([], kdims=["x", "y"])
            rows = self.state.top_anomalies(anomaly_k)
            data = self.state.data
            return hv.Points((data.x[rows], data.y[rows]), kdims=["x", "y"])

        stream = hv.streams.Params(
            self.state, ["show_anomalies", "anomaly_k", "version"]
        )
        return hv.DynamicMap(markers, streams=[stream]).opts(
            hv.opts.Points(
                marker="circle",
                size=11,
                fill_alpha=0,
                line_color="#ff4d6d",
                line_width=1.6,
                tools=[],
            )
        )

    def _cluster_overlay(self):
        def markers(shown_cluster, clusters_changed, version):
            empty = hv.Points([], kdims=["x", "y"])
            if not shown_cluster:
                return empty
            from explorer.annotations import Annotations

            members = Annotations.of_store(self.state.store).members(shown_cluster)
            data = self.state.data
            members = members[np.isin(members, data.ids)][:MAX_CLUSTER_MARKERS]
            rows = data.rows_of(members)
            return hv.Points((data.x[rows], data.y[rows]), kdims=["x", "y"])

        stream = hv.streams.Params(
            self.state, ["shown_cluster", "clusters_changed", "version"]
        )
        return hv.DynamicMap(markers, streams=[stream]).opts(
            hv.opts.Points(
                marker="diamond", size=6, color="#7df9ff", alpha=0.8, tools=[]
            )
        )

    def _selection_overlay(self):
        def outline(selection_geometry):
            if not selection_geometry:
                return hv.Path([])
            coords = selection_geometry["coords"]
            if selection_geometry["kind"] == "box":
                x0, y0, x1, y1 = coords
                coords = [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
            ring = [tuple(c) for c in coords]
            return hv.Path([[*ring, ring[0]]])

        stream = hv.streams.Params(self.state, ["selection_geometry"])
        return hv.DynamicMap(outline, streams=[stream]).opts(
            hv.opts.Path(color="white", line_dash="dashed", line_width=1.5)
        )

    # ------------------------------------------------------------- events
    def _radius(self) -> float:
        x0, x1 = self._range[0], self._range[1]
        if x0 is None or x1 is None:
            (x0, x1), _ = self._limits()
        return abs(x1 - x0) / FRAME_WIDTH * PICK_RADIUS_PX

    def _on_pointer(self, x=None, y=None, **_):
        if x is None or y is None:
            return
        self.state.hover_at(x, y, self._radius())

    def _on_tap(self, x=None, y=None, **_):
        source_id = self.state.id_at(x, y, self._radius())
        if source_id is not None:
            self.state.query_similar([source_id])

    def _on_box(self, bounds=None, **_):
        if bounds is not None:
            self._select(lambda: self.state.select_box(bounds))

    def _on_lasso(self, geometry=None, **_):
        if geometry is not None and len(geometry) >= 3:
            self._select(lambda: self.state.select_polygon(geometry))

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

    def _on_range(self, x_range=None, y_range=None, **_):
        if x_range is None or y_range is None:
            return
        self._range = (x_range[0], x_range[1], y_range[0], y_range[1])
        view = [float(f"{v:.6g}") for v in self._range]
        if view != self.state.view:
            # on the next tick, so that the URL change is sent now rather
            # than with the next event of the plot
            pn.state.execute(partial(setattr, self.state, "view", view), schedule=True)
