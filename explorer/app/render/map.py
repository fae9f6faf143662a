"""The map render engine: datashader-exact aggregates of a point table to RGBA.

No Panel and no Bokeh models here (the view builds those): given ``(N,)``
coordinates and the values of one colour field, :class:`MapRenderer` renders
a view range to a ``(H, W)`` uint32 RGBA image, visiting only the points of
the grid cells in view (:mod:`~explorer.app.render.grid_index`, numba kernels
in :mod:`~explorer.app.render.kernels` whose pixels equal datashader's).
Colour mapping happens here (:func:`colorize`) with the same palette and
limits that the colour bar's mapper is given (:func:`color_bar_spec`), so the
bar always matches the shading. :func:`warm_up` compiles the kernels at
server start.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import colorcet
import datashader as ds
import datashader.transfer_functions as tf
import numpy as np

# a list of 256 hex colours: plain data, no Bokeh model
from bokeh.palettes import Viridis256

from explorer.app import data as mapdata
from explorer.app.render import kernels
from explorer.app.render.aggregate import aggregate_view, kernel_mode
from explorer.app.render.grid_index import GridIndex

#: image size in pixels (the map figure's fixed frame)
FRAME_WIDTH = 500
FRAME_HEIGHT = 450
#: dynspread of the RGBA image (isolated points grow up to ``max_px`` pixels)
SPREAD_THRESHOLD = 0.6
SPREAD_MAX_PX = 3
#: colour of "no category" (-1) in categorical fields
_GREY = "#4a4a4a"


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
        return _categorical_style(field, values)
    return _numeric_style(field, values)


def _categorical_style(field: str, values: np.ndarray) -> dict:
    """Grey for -1 (none), then one glasbey colour per category."""
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


def _numeric_style(field: str, values: np.ndarray) -> dict:
    """Viridis between the 1st and 99th percentiles of the finite values."""
    finite = values[np.isfinite(values)]
    if finite.size:
        lo, hi = np.percentile(finite, [1, 99])
        if hi <= lo:
            lo, hi = float(finite.min()), float(finite.max())
        if hi <= lo:  # constant: one colour (the legend says the value, no bar)
            lo, hi = lo - 0.5, hi + 0.5
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

    A render aggregates only the points of the grid cells inside the view
    (:class:`~explorer.app.render.grid_index.GridIndex`) with a numba kernel
    whose pixels equal datashader's ``Canvas.points``; every point in view
    is drawn, at every zoom (no subsampling, no pre-binned approximation).

    Parameters
    ----------
    x, y : ndarray
        ``(N,)`` map coordinates (ignored when ``index`` is given).
    values : ndarray
        ``(N,)`` values of the colour field, in row order.
    style : dict
        :func:`style_for` of the field.
    width, height : int
        Image size in pixels (the plot frame's size).
    index : GridIndex, optional
        The version's shared index (:func:`~explorer.app.render.grid_index.
        index_for`); built from ``x``, ``y`` when None.
    """

    def __init__(
        self,
        x: np.ndarray,
        y: np.ndarray,
        values: np.ndarray,
        style: dict,
        width: int = FRAME_WIDTH,
        height: int = FRAME_HEIGHT,
        index: GridIndex | None = None,
    ) -> None:
        self.index = GridIndex(x, y) if index is None else index
        self.mode = kernel_mode(style["aggregator"])
        # a count needs no values: 4 N bytes saved on the default field
        if self.mode == kernels.COUNT:
            self._values = self.index.xs
        else:
            self._values = self.index.sort_values(values)
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

    def aggregate(self, x_range, y_range) -> np.ndarray:
        """``(height, width)`` float64 aggregate of the view, row 0 at ``y0``.

        Points per pixel for a count (0 where empty), else the mean or maximum
        of the non-NaN values (NaN where none), as datashader's ``count()``,
        ``mean("value")`` and ``max("value")``.
        """
        return aggregate_view(
            self.index,
            self._values,
            self.mode,
            x_range,
            y_range,
            (self.height, self.width),
        )

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
        values = self.aggregate(x_range, y_range)
        low, high = self.limits(values)
        rgba = colorize(values, self.palette, low, high, log=self.log)
        image = tf.Image(rgba, dims=["y", "x"])
        spread = tf.dynspread(
            image, threshold=SPREAD_THRESHOLD, max_px=SPREAD_MAX_PX, shape="circle"
        )
        return np.ascontiguousarray(spread.data, dtype=np.uint32), (low, high)


def warm_up(x: np.ndarray, y: np.ndarray) -> None:
    """Compile the map's kernels of every style and spread (server start-up).

    numba compiles each kernel in every new process, a spread once per pixel
    radius: seconds that the first zoom into a sparse region would otherwise
    wait.
    """
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
    renderer.index.count_in_box((x.min(), y.min(), x.max(), y.max()))
    sparse = np.zeros((16, 16), dtype=np.uint32)
    sparse[8, 8] = 0xFF0000FF
    for px in range(1, SPREAD_MAX_PX + 1):
        tf.spread(tf.Image(sparse, dims=["y", "x"]), px=px, shape="circle")


@dataclass(frozen=True)
class ColorBarSpec:
    """What the colour bar of a render shows (built into a Bokeh model by the view).

    Attributes
    ----------
    palette : list of str
        Hex colours, low to high.
    low, high : float
        Colour limits of the render.
    log : bool
        Logarithmic mapper (``LogColorMapper``) instead of a linear one.
    title : str
        The bar's label.
    ticks : list of int or None
        Fixed tick positions (categorical fields), None for automatic ticks.
    """

    palette: list[str]
    low: float
    high: float
    log: bool
    title: str
    ticks: list[int] | None = None


def color_bar_spec(style: dict, limits: tuple[float, float]) -> ColorBarSpec:
    """The colour bar matching a render of ``style`` with colour ``limits``.

    Parameters
    ----------
    style : dict
        :func:`style_for` of the field.
    limits : tuple of float
        ``(low, high)`` returned by :meth:`MapRenderer.render`.

    Returns
    -------
    ColorBarSpec
    """
    opts = style["opts"]
    return ColorBarSpec(
        palette=list(opts["cmap"]),
        low=float(limits[0]),
        high=float(limits[1]),
        log=opts["cnorm"] == "log",
        title=opts["clabel"],
        ticks=list(opts["ticks"]) if "ticks" in opts else None,
    )


def initial_ranges(
    x: np.ndarray, y: np.ndarray, pad: float = 0.03
) -> tuple[tuple[float, float], tuple[float, float]]:
    """``(x_range, y_range)`` showing every point with a margin.

    Parameters
    ----------
    x, y : ndarray
        ``(N,)`` map coordinates.
    pad : float
        Margin as a fraction of each span (1 map unit for a zero span).

    Returns
    -------
    tuple
        ``((x0, x1), (y0, y1))``; ``((0, 1), (0, 1))`` without points.
    """
    if len(x) == 0:
        return (0, 1), (0, 1)
    pad_x = (x.max() - x.min()) * pad or 1.0
    pad_y = (y.max() - y.min()) * pad or 1.0
    return (
        (float(x.min() - pad_x), float(x.max() + pad_x)),
        (float(y.min() - pad_y), float(y.max() + pad_y)),
    )


def outline(geometry: dict | None) -> tuple[list[float], list[float]]:
    """Closed ring ``(xs, ys)`` of a selection geometry, for a line glyph.

    Parameters
    ----------
    geometry : dict or None
        ``{"kind": "box", "coords": (x0, y0, x1, y1)}`` or ``{"kind": "lasso",
        "coords": [(x, y), ...]}`` (``AppState.selection_geometry``).

    Returns
    -------
    xs, ys : list of float
        The vertices with the first repeated at the end (empty for None).
    """
    if not geometry or geometry.get("kind") not in ("box", "lasso"):
        # a selection made off the map (a cone on the sky, rows sent back
        # over SAMP) has no outline on it
        return [], []
    coords = geometry["coords"]
    if geometry["kind"] == "box":
        x0, y0, x1, y1 = coords
        coords = [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
    ring = [tuple(c) for c in coords]
    ring.append(ring[0])
    return [float(c[0]) for c in ring], [float(c[1]) for c in ring]
