"""The sky: a cone search that selects sources, and where the selection lies.

The cone search (RA, Dec, radius in any format astropy parses, or a source
name) runs on the store's shared :class:`~explorer.app.coords.SkyIndex` and
becomes the selection. The sky plot draws the whole footprint as a density
image (a 2-D histogram, whatever the catalogue's size) and the selection as
points on top (at most :data:`MAX_POINTS`, a random subset beyond), RA
increasing to the left: a cluster that is one survey tile shows as one patch.
"""

from __future__ import annotations

import html
import logging

import numpy as np
import panel as pn
import param

from explorer.app import services
from explorer.app.coords import sky_index, unwrapped_ra
from explorer.app.state import AppState
from explorer.errors import LatentskyError

log = logging.getLogger(__name__)

#: selected sources drawn as points (a random subset beyond)
MAX_POINTS = 20_000
#: footprint density image bins (RA, Dec)
BINS = (180, 90)


def footprint_image(ra: np.ndarray, dec: np.ndarray) -> dict:
    """The density image of a footprint: ``{image, x, y, dw, dh}`` for Bokeh.

    Parameters
    ----------
    ra, dec : ndarray
        ``(N,)`` degrees; RA already unwrapped (:func:`unwrapped_ra`).

    Returns
    -------
    dict
        ``image`` ``(BINS[1], BINS[0])`` counts (log1p-scaled, NaN where
        empty) and its extent in degrees.
    """
    ok = np.isfinite(ra) & np.isfinite(dec)
    ra, dec = ra[ok], dec[ok]
    if len(ra) == 0:
        return {
            "image": np.full((1, 1), np.nan),
            "x": 0,
            "y": -90,
            "dw": 360,
            "dh": 180,
        }
    pad = 1e-6 + 0.02 * max(np.ptp(ra), np.ptp(dec), 0.01)
    x0, x1 = ra.min() - pad, ra.max() + pad
    y0, y1 = max(dec.min() - pad, -90.0), min(dec.max() + pad, 90.0)
    counts, _, _ = np.histogram2d(dec, ra, bins=BINS[::-1], range=[[y0, y1], [x0, x1]])
    image = np.where(counts > 0, np.log1p(counts), np.nan)
    return {"image": image, "x": x0, "y": y0, "dw": x1 - x0, "dh": y1 - y0}


def sky_figure(state: AppState):
    """Bokeh figure of the footprint (density) and the selection (points)."""
    from bokeh.models import LinearColorMapper
    from bokeh.palettes import Greys256
    from bokeh.plotting import figure

    catalog = state.store.catalog
    ra = unwrapped_ra(catalog["ra"].to_numpy(dtype=np.float64))
    dec = catalog["dec"].to_numpy(dtype=np.float64)
    foot = footprint_image(ra, dec)
    fig = figure(
        width=360,
        height=260,
        x_range=(foot["x"] + foot["dw"], foot["x"]),  # RA grows to the left
        y_range=(foot["y"], foot["y"] + foot["dh"]),
        x_axis_label="RA (deg)",
        y_axis_label="Dec (deg)",
        tools="pan,wheel_zoom,reset",
        title="Selection on the sky",
    )
    mapper = LinearColorMapper(
        palette=Greys256[40:200], low=0, high=float(np.nanmax(foot["image"]) or 1),
        nan_color=(0, 0, 0, 0),
    )  # fmt: skip
    fig.image(color_mapper=mapper, **{k: [v] for k, v in foot.items()})
    rows = state.store.rows_of(state.selection_ids) if len(state.selection_ids) else []
    rows = np.asarray(rows, dtype=np.int64)
    shown = len(rows)
    if shown > MAX_POINTS:
        rows = np.random.default_rng(0).choice(rows, MAX_POINTS, replace=False)
        fig.title.text = f"Selection on the sky ({MAX_POINTS:,} of {shown:,} shown)"
    elif shown:
        fig.title.text = f"Selection on the sky ({shown:,} sources)"
    fig.scatter(ra[rows], dec[rows], size=3, color="#7df9ff", alpha=0.8)
    return fig


class SkyView(pn.viewable.Viewer):
    """Cone search box and sky plot of the current selection."""

    state = param.ClassSelector(class_=AppState)

    def __init__(self, state: AppState, **params) -> None:
        super().__init__(state=state, **params)
        self._query = pn.widgets.TextInput(
            label="Cone search",
            placeholder="10h00m24s +02d12m00s 30arcsec · 150.1 2.2 0.5deg · name",
            width=330,
            css_classes=["cone-query"],
        )
        self._search = pn.widgets.Button(label="Select", color="primary", width=80)
        self._search.on_click(self.search)
        self._query.param.watch(self._on_enter, "enter_pressed")
        self._result = pn.pane.HTML("", css_classes=["cone-result"], width=420)
        self._plot = pn.pane.Bokeh(None, css_classes=["sky-plot"])
        self._draw()

    def _on_enter(self, event=None) -> None:
        # Panel runs enter-pressed handlers without the document lock, and a
        # new selection changes Bokeh models (the map's outline): search on
        # the next tick, which holds the lock
        doc = pn.state.curdoc
        if services.in_session(doc):
            doc.add_next_tick_callback(self.search)
        else:
            self.search()

    def search(self, event=None) -> np.ndarray | None:
        """Select the sources in the cone typed in the box; returns their ids."""
        state = self.state
        try:
            text = self._query.value_input or self._query.value
            cone, rows = sky_index(state.store).search(text)
        except LatentskyError as exc:
            self._result.object = (
                f"<span style='color:#f0a020'>{html.escape(str(exc))}</span>"
            )
            return None
        ids = state.store.ids[rows]
        geometry = {"kind": "cone", "coords": [cone.ra, cone.dec, cone.radius]}
        state.select_ids(ids, geometry)
        self._result.object = (
            f"<b>{len(ids):,}</b> sources within {html.escape(cone.describe())}"
        )
        return ids

    @param.depends("state.selection_ids", watch=True)
    def _draw(self) -> None:
        try:
            self._plot.object = sky_figure(self.state)
        except (KeyError, LatentskyError) as exc:
            self._result.object = f"No sky plot: {exc}"

    def __panel__(self):
        return pn.Column(
            pn.Row(self._query, self._search),
            self._result,
            self._plot,
            name="Sky",
            sizing_mode="stretch_width",
        )
