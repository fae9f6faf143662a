"""The map's top-anomaly glyph layer: what it shows and the toggle hiding it.

The glyphs (:data:`~explorer.app.views.map_figure.TOP_ANOMALIES`) mark the
version's :data:`~explorer.app.render.glyphs.TOP_ANOMALIES` most anomalous
sources by the default anomaly score, whatever the colour field, above the
density image at every zoom. The toggle hides the renderer in the browser
(nothing is re-sent); a new version recomputes the rows off the event loop.
"""

from __future__ import annotations

import logging
import weakref

import numpy as np
import panel as pn

from explorer.app import services
from explorer.app.render.glyphs import (
    SCORE_COLUMN,
    TOP_ANOMALIES,
    glyph_columns,
    top_anomaly_rows,
)
from explorer.app.views.map_figure import TOP_ANOMALIES as RENDERER_NAME

log = logging.getLogger(__name__)


class TopAnomalyLayer:
    """The glyph renderer of a map figure, its data and its toggle.

    Parameters
    ----------
    figure : bokeh.plotting.figure
        The map figure (holds the renderer named ``"top-anomalies"``).
    source : ColumnDataSource
        The renderer's data.
    k : int
        Number of sources drawn.

    Attributes
    ----------
    toggle : panel.widgets.Checkbox
        Checked: the glyphs are drawn (the default).
    ids : ndarray
        ``(k,)`` int64 ids drawn, most anomalous first.
    """

    def __init__(self, figure, source, k: int = TOP_ANOMALIES) -> None:
        self.figure = figure
        self.source = source
        self.k = int(k)
        self.renderer = figure.select_one({"name": RENDERER_NAME})
        self.ids = np.zeros(0, dtype=np.int64)
        self._data = None  # the map of the latest update (older results dropped)
        self.toggle = pn.widgets.Checkbox(
            label=f"top {self.k} anomalies",
            value=True,
            width=150,
            align="center",
            css_classes=["top-anomalies-toggle"],
        )
        self.toggle.param.watch(self._on_toggle, "value")

    @property
    def visible(self) -> bool:
        """Whether the glyphs are drawn."""
        return bool(self.renderer.visible)

    def _on_toggle(self, event) -> None:
        self.renderer.visible = bool(event.new)

    def update(self, data) -> None:
        """Show the top anomalies of ``data`` (:class:`~explorer.app.data.MapData`).

        The ranking (a partition of ``N`` scores) runs off the event loop; a
        map without an anomaly score shows no glyphs.
        """
        self._data = data
        cached = _COLUMNS.get(data, {}).get(self.k)
        if cached is not None:
            # shown with the page itself: a patch sent after the first paint
            # races a page closed right after it (tornado then logs a
            # WebSocketClosedError traceback)
            self.ids, self.source.data = cached["id"], cached
            return

        def done(columns: dict) -> None:
            if data is not self._data:
                return
            self.ids = columns["id"]
            self.source.data = columns

        def failed(exc: Exception) -> None:
            log.error("top anomalies of the map failed", exc_info=exc)

        k = self.k
        services.run_off_loop(
            self.figure.document, lambda: top_columns(data, k), done, failed
        )


#: glyph columns per map (a version's shared MapData) and k, for every session
_COLUMNS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def top_columns(data, k: int) -> dict:
    """Glyph columns of the ``k`` top anomalies of ``data``, computed once per
    map and shared by every session (the server's warm-up fills it)."""
    per_k = _COLUMNS.setdefault(data, {})
    if k not in per_k:
        if SCORE_COLUMN not in data.table:
            per_k[k] = glyph_columns(data.x, data.y, data.ids, data.x, [])
        else:
            scores = data.table[SCORE_COLUMN].to_numpy()
            rows = top_anomaly_rows(scores, data.ids, k)
            per_k[k] = glyph_columns(data.x, data.y, data.ids, scores, rows)
    return per_k[k]
