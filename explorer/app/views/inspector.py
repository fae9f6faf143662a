"""A larger look at one source (``state.inspected_id``).

Each band side by side in grey (its own zscale/percentile limits from the
display settings) with its name, an angular scale bar and the pixel value
under the pointer (a Bokeh image glyph with a hover tool); the colour
composite with the current display settings; and the source's catalogue and
map row. "Show in Aladin" points Aladin at the source over SAMP.
"""

from __future__ import annotations

import html
import logging

import numpy as np
import pandas as pd
import panel as pn
import param

from explorer.app.coords import format_radec
from explorer.app.render.images import DisplaySettings, interval_of
from explorer.app.state import AppState

log = logging.getLogger(__name__)

BAND_PX = 170
COMPOSITE_PX = 200
#: manifest keys that may hold the pixel scale in arcsec
PIXEL_SCALE_KEYS = ("pixel_scale_arcsec", "pixel_scale", "pixscale")
#: scale-bar lengths tried, arcsec (the longest under 40% of the cutout)
NICE_ARCSEC = (0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600)


def pixel_scale(store) -> float | None:
    """Arcsec per pixel of the store's cutouts, if its manifest says."""
    manifest = getattr(store, "manifest", {}) or {}
    for key in PIXEL_SCALE_KEYS:
        value = manifest.get(key)
        if isinstance(value, int | float) and np.isfinite(value) and value > 0:
            return float(value)
    return None


def scale_bar(size: int, scale: float | None) -> tuple[float, str]:
    """Length in pixels and label of a scale bar for an ``size``-pixel cutout.

    Parameters
    ----------
    size : int
        Cutout side in pixels.
    scale : float or None
        Arcsec per pixel (None: the bar is in pixels).

    Returns
    -------
    tuple
        ``(length_px, label)``, e.g. ``(20.0, '5″')``.
    """
    if scale is None:
        length = max(1, int(round(size * 0.25)))
        return float(length), f"{length} px"
    fitting = [a for a in NICE_ARCSEC if a / scale <= 0.4 * size]
    arcsec = fitting[-1] if fitting else NICE_ARCSEC[0]
    label = f"{arcsec / 60:g}′" if arcsec >= 60 else f"{arcsec:g}″"
    return arcsec / scale, label


def band_limits(band: np.ndarray, settings: DisplaySettings) -> tuple[float, float]:
    """Grey-scale limits of one band: the display interval of its finite pixels."""
    finite = band[np.isfinite(band)]
    if finite.size == 0:
        return 0.0, 1.0
    with np.errstate(all="ignore"):
        low, high = interval_of(settings).get_limits(finite)
    if not np.isfinite(high - low) or high <= low:
        return float(finite.min()), float(finite.min()) + 1.0
    return float(low), float(high)


def band_figure(band: np.ndarray, name: str, settings: DisplaySettings, bar):
    """Bokeh figure of one band in grey with a value hover and a scale bar."""
    from bokeh.models import HoverTool, LinearColorMapper, Range1d
    from bokeh.palettes import Greys256
    from bokeh.plotting import figure

    size = band.shape[-1]
    low, high = band_limits(band, settings)
    # y runs down so row 0 is at the top, as in the PNG composites
    fig = figure(
        width=BAND_PX,
        height=BAND_PX + 20,
        title=name,
        x_range=Range1d(0, size),
        y_range=Range1d(size, 0),
        tools="",
        toolbar_location=None,
        match_aspect=True,
    )
    fig.axis.visible = False
    fig.grid.visible = False
    mapper = LinearColorMapper(palette=Greys256[::-1], low=low, high=high)
    glyph = fig.image(
        image=[np.asarray(band, dtype=np.float64)],
        x=0,
        y=0,
        dw=size,
        dh=size,
        color_mapper=mapper,
    )
    fig.add_tools(
        HoverTool(
            renderers=[glyph],
            tooltips=[
                ("band", name),
                ("pixel (x, y)", "($x{0}, $y{0})"),
                ("value", "@image{0.0000}"),
            ],
        )
    )
    length, label = bar
    x0, y0 = 0.08 * size, 0.9 * size
    fig.line([x0, x0 + length], [y0, y0], line_color="#7df9ff", line_width=3)
    fig.text(
        [x0], [y0 - 0.04 * size], text=[label], text_color="#7df9ff",
        text_font_size="10px",
    )  # fmt: skip
    return fig


def row_table(row: pd.Series) -> str:
    """The catalogue and map row of a source as an HTML table."""
    cells = []
    for key, value in row.items():
        if str(key).startswith("_"):
            continue
        if isinstance(value, float | np.floating):
            text = f"{value:.6g}"
        else:
            text = str(value)
        cells.append(
            f"<tr><td>{html.escape(str(key))}</td><td>{html.escape(text)}</td></tr>"
        )
    return f"<table class='inspector-row'>{''.join(cells)}</table>"


class InspectorView(pn.viewable.Viewer):
    """One source in detail; empty until a source is inspected."""

    state = param.ClassSelector(class_=AppState)

    def __init__(self, state: AppState, **params) -> None:
        super().__init__(state=state, **params)
        self._header = pn.pane.HTML(
            "Hover a source and press <b>Inspect</b> to see it here.",
            css_classes=["inspector-header"],
            sizing_mode="stretch_width",
        )
        self._bands = pn.Row(
            css_classes=["inspector-bands"], sizing_mode="stretch_width"
        )
        self._composite = pn.pane.PNG(
            None, width=COMPOSITE_PX, height=COMPOSITE_PX, css_classes=["inspector-rgb"]
        )
        self._row = pn.pane.HTML("", css_classes=["inspector-table"], width=330)
        self._aladin = pn.widgets.Button(
            label="Show in Aladin", width=130, disabled=True
        )
        self._aladin.on_click(self._on_aladin)
        self._similar = pn.widgets.Button(
            label="Find similar", width=110, disabled=True
        )
        self._similar.on_click(self._on_similar)

    def _on_similar(self, event=None) -> None:
        if self.state.inspected_id is not None:
            self.state.query_similar([self.state.inspected_id])

    def _on_aladin(self, event=None) -> None:
        from explorer.samp import SampUnavailable, samp_link

        source_id = self.state.inspected_id
        if source_id is None:
            return
        row = self.state.store.catalog.iloc[
            int(self.state.store.rows_of([source_id])[0])
        ]
        try:
            samp_link().point_at(float(row["ra"]), float(row["dec"]))
        except SampUnavailable as exc:
            self.state.notify("warning", str(exc))
            return
        self.state.notify("info", f"Aladin moved to source {source_id}")

    @param.depends("state.inspected_id", "state.display", watch=True)
    def _update(self) -> None:
        state = self.state
        source_id = state.inspected_id
        self._aladin.disabled = self._similar.disabled = source_id is None
        if source_id is None:
            self._bands.objects = []
            self._composite.object = None
            self._row.object = ""
            return
        try:
            self._show(int(source_id))
        except Exception as exc:
            log.exception("inspector failed")
            state.notify("error", f"Cannot inspect source {source_id}: {exc}")

    def _show(self, source_id: int) -> None:
        state = self.state
        store = state.store
        cutout = store.cutout(source_id)
        bar = scale_bar(cutout.shape[-1], pixel_scale(store))
        # the band name also as page text: the figure title is drawn on a
        # canvas, which neither screen readers nor text search can read
        self._bands.objects = [
            pn.Column(
                pn.pane.HTML(
                    f"<b>{html.escape(str(name))}</b>",
                    css_classes=["inspector-band-name"],
                    margin=(0, 5),
                ),
                pn.pane.Bokeh(band_figure(cutout[k], str(name), state.display, bar)),
                css_classes=["inspector-band"],
            )
            for k, name in enumerate(store.bands)
        ]
        self._composite.object = state.images.png(
            source_id, state.display, COMPOSITE_PX
        )
        data = state.data
        map_row = data.table.iloc[int(data.rows_of([source_id])[0])]
        cat_row = store.catalog.iloc[int(store.rows_of([source_id])[0])]
        row = pd.concat([cat_row, map_row.drop(labels=cat_row.index, errors="ignore")])
        position = "RA/Dec unknown"
        if "ra" in cat_row and "dec" in cat_row:
            position = format_radec(float(cat_row["ra"]), float(cat_row["dec"]))
        self._header.object = (
            f"<b>source {source_id}</b> · {html.escape(position)}"
            f" · <small>{html.escape(state.display.label())}</small>"
        )
        self._row.object = row_table(row)

    def __panel__(self):
        return pn.Column(
            self._header,
            self._bands,
            pn.Row(
                self._composite,
                pn.Column(pn.Row(self._aladin, self._similar), self._row),
            ),
            name="Inspector",
            sizing_mode="stretch_width",
        )
