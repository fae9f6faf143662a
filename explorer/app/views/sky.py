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


def selection_points(state: AppState) -> tuple[dict[str, np.ndarray], str]:
    """RA/Dec of the selection to draw (a seeded subset above MAX_POINTS) and
    the plot's title saying how many are shown."""
    ra, dec = _sky_coords(state)
    ids = state.selection_ids
    rows = np.asarray(state.store.rows_of(ids) if len(ids) else [], dtype=np.int64)
    shown = len(rows)
    title = "Selection on the sky"
    if shown > MAX_POINTS:
        rows = np.random.default_rng(0).choice(rows, MAX_POINTS, replace=False)
        title = f"Selection on the sky ({MAX_POINTS:,} of {shown:,} shown)"
    elif shown:
        title = f"Selection on the sky ({shown:,} sources)"
    return {"ra": ra[rows], "dec": dec[rows]}, title


def _sky_coords(state: AppState) -> tuple[np.ndarray, np.ndarray]:
    catalog = state.store.catalog
    ra = unwrapped_ra(catalog["ra"].to_numpy(dtype=np.float64))
    return ra, catalog["dec"].to_numpy(dtype=np.float64)


def sky_figure(state: AppState):
    """Bokeh figure of the footprint (density) and the selection (points).

    Returns
    -------
    figure : bokeh.plotting.figure
        The plot; its title says how many selected sources are drawn.
    points : bokeh.models.ColumnDataSource
        Columns ``ra``, ``dec`` of the drawn selection: a new selection only
        replaces its data (and the title), the footprint is drawn once.
    """
    from bokeh.models import ColumnDataSource, LinearColorMapper
    from bokeh.palettes import Greys256
    from bokeh.plotting import figure

    foot = footprint_image(*_sky_coords(state))
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
    data, fig.title.text = selection_points(state)
    points = ColumnDataSource(data)
    fig.scatter("ra", "dec", source=points, size=3, color="#7df9ff", alpha=0.8)
    return fig, points


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
        # drawn when the tab is first shown (most sessions never open it),
        # then updated in place on every selection
        self._points = None

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
        if self._points is None:
            return  # not shown yet: __panel__ draws the current selection
        data, title = selection_points(self.state)
        self._points.data = data
        self._plot.object.title.text = title

    def _build(self) -> None:
        try:
            self._plot.object, self._points = sky_figure(self.state)
        except (KeyError, LatentskyError) as exc:
            self._result.object = f"No sky plot: {exc}"

    def __panel__(self):
        if self._points is None:
            self._build()
        return pn.Column(
            pn.Row(self._query, self._search),
            self._result,
            self._plot,
            name="Sky",
            sizing_mode="stretch_width",
        )
