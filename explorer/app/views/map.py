"""The map view: every source of the version, datashaded, coloured by a field,
with hover, tap, box and lasso selection resolved server-side.

Zoom is tuned by measurement (``latentsky bench ui``): a plain Bokeh
figure (no HoloViews streams) whose image glyph is an RGBA render of
:class:`~explorer.app.render.map.MapRenderer` computed server-side when the
axis ranges change, with Bokeh's level-of-detail mode off, a fixed frame size
(no second render when tick labels change width) and a short trailing
debounce, so one wheel gesture gives one render. The browser only blits the
RGBA image; the colour bar's mapper gets the render's palette and limits.

A new colour field or version needs the field's values (a SQLite read for
saved clusters, a k-NN diff for the neighbourhood change) and a new
renderer: that runs in the server's thread pool
(:func:`explorer.app.services.run_off_loop`) and the result is applied on the
session's event loop.
"""

from __future__ import annotations

import html
import logging
from functools import partial

import numpy as np
import panel as pn
import param
from bokeh import events

from explorer.app import data as mapdata
from explorer.app import services
from explorer.app.render.grid_index import index_for
from explorer.app.render.legend import FieldLegend, field_legend
from explorer.app.render.map import (
    FRAME_HEIGHT,
    FRAME_WIDTH,
    MapRenderer,
    color_bar_spec,
    colorize,
    initial_ranges,
    outline,
    palette_rgba,
    style_for,
    warm_up,
)
from explorer.app.state import AppState
from explorer.app.views.map_figure import (
    ANOMALIES,
    IMAGE,
    OUTLINE,
    SAVED_CLUSTER,
    SIMILAR,
    SIMILAR_QUERY,
    TOP_ANOMALIES,
    build_figure,
    color_bar,
)
from explorer.app.views.map_top import TopAnomalyLayer

log = logging.getLogger(__name__)

# the engine's names, importable from here as before the split
__all__ = [
    "FRAME_HEIGHT",
    "FRAME_WIDTH",
    "MapRenderer",
    "MapView",
    "ANOMALIES",
    "IMAGE",
    "OUTLINE",
    "SAVED_CLUSTER",
    "SIMILAR",
    "SIMILAR_QUERY",
    "TOP_ANOMALIES",
    "colorize",
    "palette_rgba",
    "style_for",
    "warm_up",
]

#: hover / tap search radius in screen pixels
PICK_RADIUS_PX = 8
#: most members of a saved cluster drawn as markers
MAX_CLUSTER_MARKERS = 20_000
#: trailing debounce of RangesUpdate events (ms): events within this interval
#: (e.g. queued while a render ran) give one render, of the latest range
RANGE_DEBOUNCE_MS = 5


class MapView(pn.viewable.Viewer):
    """The map pane; writes ``hovered_id``, the selection, similar queries and
    ``view`` into the state and reads colour field, version and overlays.

    Attributes
    ----------
    figure : bokeh.plotting.figure
        The map figure: the RGBA image and the overlays (renderers named
        :data:`IMAGE`, :data:`ANOMALIES`, :data:`SAVED_CLUSTER`,
        :data:`OUTLINE`) and the colour bar (``figure.right[0]``).
    renders : int
        Images rendered so far (for tests and benches).
    title_text : str
        The map's title (shown in its own line above the plot, so that a long
        field name never pushes the toolbar into its "⋮" overflow menu).
    legend : FieldLegend or None
        How the current colour field is explained (bar, categories or text).
    top_anomalies : TopAnomalyLayer
        The glyphs on the version's top anomalies and their toggle.
    """

    state = param.ClassSelector(class_=AppState)

    def __init__(self, state: AppState, **params) -> None:
        super().__init__(state=state, **params)
        self._renderer: MapRenderer | None = None
        self._pending = None
        self._build = 0  # generation of the latest colour-field build
        self.renders = 0
        self.title_text = ""
        self.legend: FieldLegend | None = None
        self.figure = self._make_figure()
        self._pane = pn.pane.Bokeh(self.figure, sizing_mode="fixed")
        self._header = pn.pane.HTML(
            "", css_classes=["map-header"], sizing_mode="stretch_width", height=44
        )
        self._rebuild()
        self._update_top_anomalies()
        self._update_anomalies()
        self._update_cluster()
        self._update_outline()
        self._update_similar()

    def __panel__(self):
        header = pn.Row(
            self._header, self.top_anomalies.toggle, sizing_mode="stretch_width"
        )
        return pn.Column(header, self._pane, sizing_mode="stretch_width")

    # ------------------------------------------------------------ building
    def _make_figure(self):
        view = self.state.view
        if view and len(view) == 4:
            ranges = (view[0], view[1]), (view[2], view[3])
        else:
            ranges = initial_ranges(self.state.data.x, self.state.data.y)
        parts = build_figure(*ranges)
        self._image_source, self._color_bar = parts.image, parts.color_bar
        self._anomaly_source, self._cluster_source = parts.anomalies, parts.cluster
        self._outline_source = parts.outline
        self._similar_source, self._query_source = parts.similar, parts.query
        fig = parts.figure
        self.top_anomalies = TopAnomalyLayer(fig, parts.top_anomalies)
        for axis_range in (fig.x_range, fig.y_range):
            axis_range.on_change("start", self._on_range_change)
            axis_range.on_change("end", self._on_range_change)
        fig.on_event(events.RangesUpdate, self._on_ranges_update)
        fig.on_event(events.MouseMove, self._on_pointer)
        fig.on_event(events.Tap, self._on_tap)
        fig.on_event(events.SelectionGeometry, self._on_selection)
        return fig

    @param.depends("state.clusters_changed", watch=True)
    def _on_clusters_changed(self) -> None:
        if self.state.color_field in (mapdata.SAVED_CLUSTER, mapdata.RELEVANCE):
            self._rebuild()

    @param.depends("state.version", "state.color_field", watch=True)
    def _rebuild(self) -> None:
        """New colour field or version: new renderer, colour bar and title.

        The field's values and the first render are computed off the event
        loop; a build replaced by a newer one meanwhile is dropped.
        """
        state = self.state
        self._build += 1
        build, field, ranges = self._build, state.color_field, self._view_ranges()

        def failed(exc: Exception) -> None:
            # shown to the user, the old map stays
            log.error("map build failed", exc_info=exc)
            state.notify(
                "error",
                f"Cannot draw the map coloured by {field!r}: {exc}. "
                "Choose another field.",
            )

        try:
            data, previous = state.data, state.previous_version
        except Exception as exc:  # noqa: BLE001 - an unreadable map is shown
            failed(exc)
            return

        def work():
            values = mapdata.field_values(data, field, previous)
            style = style_for(field, values)
            # one grid index per version, shared by its fields and sessions
            index = index_for(data, data.x, data.y)
            renderer = MapRenderer(data.x, data.y, values, style, index=index)
            names = mapdata.category_names(data, field)
            legend = field_legend(field, values, style, names)
            return renderer, renderer.render(*ranges), legend

        def done(result) -> None:
            if build == self._build:
                self._apply_build(data, field, ranges, *result)

        services.run_off_loop(self._document(), work, done, failed)

    def _apply_build(self, data, field, ranges, renderer, render, legend) -> None:
        image, limits = render
        self._renderer = renderer
        new_bar = color_bar(color_bar_spec(renderer.style, limits))
        bar = self._color_bar
        bar.color_mapper = new_bar.color_mapper
        bar.title = new_bar.title
        bar.ticker = new_bar.ticker
        bar.visible = legend.show_bar
        self.legend = legend
        self.title_text = f"{data.n:,} sources · version {data.version} · {field}"
        self._header.object = header_html(self.title_text, legend)
        if ranges == self._view_ranges():
            self._show(image, limits, *ranges)
        else:  # zoomed while building: render the view as it is now
            self.render_view()

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

    def _document(self):
        """The session's document once the figure is shown, else None."""
        return self.figure.document

    def _served(self) -> bool:
        return services.in_session(self.figure.document)

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
    @param.depends("state.version", watch=True)
    def _update_top_anomalies(self) -> None:
        try:
            data = self.state.data
        except Exception:  # noqa: BLE001 - the map build reports it
            return
        self.top_anomalies.update(data)

    @param.depends(
        "state.show_anomalies", "state.anomaly_k", "state.version", watch=True
    )
    def _update_anomalies(self) -> None:
        data = self.state.data
        if self.state.show_anomalies:
            rows = self.state.top_anomalies(self.state.anomaly_k)
        else:
            rows = np.zeros(0, dtype=np.int64)
        self._anomaly_source.data = {"x": data.x[rows], "y": data.y[rows]}

    @param.depends(
        "state.shown_cluster", "state.clusters_changed", "state.version", watch=True
    )
    def _update_cluster(self) -> None:
        """Markers on the members of the shown saved cluster (read off the loop).

        A save in any session changes ``clusters_changed`` in all of them;
        with no cluster shown and no markers drawn there is nothing to redo
        (that round trip was ~10 % of a loaded server's event loop).
        """
        data, name, store = self.state.data, self.state.shown_cluster, self.state.store
        if not name and not len(self._cluster_source.data["x"]):
            return

        def work() -> np.ndarray:
            if not name:
                return np.zeros(0, dtype=np.int64)
            from explorer.store.annotations import Annotations

            members = Annotations.of_store(store).members(name)
            return data.rows_present(members)[:MAX_CLUSTER_MARKERS]

        def done(rows: np.ndarray) -> None:
            if name == self.state.shown_cluster:
                self._cluster_source.data = {"x": data.x[rows], "y": data.y[rows]}

        def failed(exc: Exception) -> None:
            self.state.notify("error", f"Cannot show cluster {name!r}: {exc}")

        services.run_off_loop(self._document(), work, done, failed)

    @param.depends("state.selection_geometry", watch=True)
    def _update_outline(self) -> None:
        xs, ys = outline(self.state.selection_geometry)
        self._outline_source.data = {"x": xs, "y": ys}

    @param.depends("state.similar_result_ids", "state.similar_query_ids", watch=True)
    def _update_similar(self) -> None:
        """Squares on the similar-images results, a star on the query sources."""
        data = self.state.data
        query = data.rows_present(self.state.similar_query_ids)
        found = data.rows_present(self.state.similar_result_ids)
        self._similar_source.data = {"x": data.x[found], "y": data.y[found]}
        self._query_source.data = {"x": data.x[query], "y": data.y[query]}

    # ------------------------------------------------------------- events
    def _radius(self) -> float:
        (x0, x1), _ = self._view_ranges()
        return abs(x1 - x0) / FRAME_WIDTH * PICK_RADIUS_PX

    def _on_pointer(self, event) -> None:
        if event.x is None or event.y is None:
            return
        # empty map space clears the hovered source (the cutout panel with it)
        source_id = self.state.id_at(event.x, event.y, self._radius())
        if source_id != self.state.hovered_id:
            self.state.hovered_id = source_id

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


def header_html(title: str, legend: FieldLegend) -> str:
    """The map's header: the title on one line (cut with "…", the full text in
    its tooltip) and, below it, the legend or the note of the colour field."""
    full = html.escape(title, quote=True)
    return (
        f"<div class='map-title' title='{full}' style='white-space:nowrap;"
        "overflow:hidden;text-overflow:ellipsis;font-weight:600;font-size:13px;"
        f"max-width:640px'>{full}</div>"
        "<div class='map-legend' style='font-size:11px;color:#c9d1d9;"
        f"white-space:nowrap;overflow:hidden;max-width:640px'>{legend.html()}</div>"
    )
