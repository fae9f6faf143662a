"""The hovered source: its cutout (display settings), id, RA/Dec and score."""

from __future__ import annotations

import logging

import numpy as np
import panel as pn
import param

from explorer.analysis.clusters import cluster_name
from explorer.app import services
from explorer.app.coords import format_radec
from explorer.app.render.images import rgb_order
from explorer.app.state import AppState
from explorer.app.views.inspector import pixel_scale

log = logging.getLogger(__name__)

SIZE = 200
#: The caption while no source is under the mouse.
HOVER_HINT = "Hover over the map to see a source."


def display_line(state: AppState) -> str:
    """Which band is drawn in which colour, and how wide the cutout is on the sky.

    For example ``"R z · G r · B g · 16.0″ across"`` (``"64 px across"`` when
    the store does not record a pixel scale).
    """
    bands = [str(b) for b in state.store.bands]
    settings = state.display
    rgb = list(settings.rgb) if settings.rgb else [bands[i] for i in rgb_order(bands)]
    if settings.stretch != "lupton" and len(set(rgb)) == 1:
        colours = f"grey: {rgb[0]}"
    else:
        colours = " · ".join(f"{c} {b}" for c, b in zip("RGB", rgb, strict=True))
    size = int(state.store.cutout_size)
    scale = pixel_scale(state.store)
    width = f"{size * scale:.1f}″" if scale else f"{size} px"
    return f"{colours} · {width} across"


def describe(state: AppState, source_id: int) -> str:
    """HTML caption of ``source_id``: id, RA/Dec (degrees and sexagesimal),
    anomaly score and cluster."""
    data = state.data
    row = int(data.rows_of([source_id])[0])
    table = data.table
    parts = [f"<b>id {source_id}</b>", f"<small>{display_line(state)}</small>"]
    if "ra" in table and "dec" in table:
        ra, dec = float(table["ra"].iat[row]), float(table["dec"].iat[row])
        parts.append(format_radec(ra, dec, html=True))
    if "anomaly_score" in table:
        score = table["anomaly_score"].iat[row]
        rank = table["anomaly_rank"].iat[row] if "anomaly_rank" in table else None
        text = f"anomaly score {score:.3g}"
        if rank is not None and np.isfinite(rank):
            text += f" (rank {int(rank):,})"
        parts.append(text)
    if "cluster" in table:
        labels = table["cluster"].to_numpy()
        label = int(labels[row])
        size = int(np.count_nonzero(labels == label)) if label >= 0 else None
        parts.append(cluster_name(label, size))
    return "<br>".join(parts)


class CutoutView(pn.viewable.Viewer):
    """Shows the cutout of ``state.hovered_id`` (updates on hover)."""

    state = param.ClassSelector(class_=AppState)

    def __init__(self, state: AppState, **params) -> None:
        super().__init__(state=state, **params)
        self._image = pn.pane.PNG(
            None,
            width=SIZE,
            height=SIZE,
            margin=(5, 5),
            css_classes=["hover-cutout"],
            name="hover-cutout",
        )
        self._inspect = pn.widgets.Button(
            label="Inspect", width=90, disabled=True, css_classes=["inspect-hovered"]
        )
        self._inspect.on_click(self._on_inspect)
        self._generation = 0
        self._caption = pn.pane.HTML(
            HOVER_HINT,
            css_classes=["hover-caption"],
            width=215,
            styles={"font-size": "12px"},
        )

    def _on_inspect(self, event=None) -> None:
        self.state.inspected_id = self.state.hovered_id

    @param.depends("state.hovered_id", "state.display", "state.version", watch=True)
    def _update(self) -> None:
        """Show the hovered source: caption and cutout together, the cutout
        read and rendered in :func:`~explorer.app.services.hover_executor`
        (a newer hover replaces a pending one)."""
        self._generation += 1
        generation = self._generation
        source_id = self.state.hovered_id
        self._inspect.disabled = source_id is None
        if source_id is None:
            self._image.object = None
            self._caption.object = HOVER_HINT
            return
        images, display = self.state.images, self.state.display
        try:
            caption = describe(self.state, source_id)
        except Exception as exc:  # noqa: BLE001 - shown in the caption
            log.exception("hover caption failed")
            caption = f"Cannot show source {source_id}: {exc}"

        def work() -> bytes:
            if generation != self._generation:
                return b""  # hovered away before it started
            return images.png(source_id, display, SIZE)

        def done(png: bytes) -> None:
            if generation == self._generation:
                self._image.object = png
                self._caption.object = caption

        def failed(exc: Exception) -> None:
            if generation == self._generation:
                log.error("hover cutout of %s failed: %s", source_id, exc)
                self._image.object = None
                self._caption.object = f"Cannot show source {source_id}: {exc}"

        services.run_off_loop(
            pn.state.curdoc,
            work,
            done,
            failed,
            pool=services.hover_executor(),
            spinner=False,
        )

    def __panel__(self):
        return pn.Column(
            self._image,
            self._caption,
            self._inspect,
            width=230,
            css_classes=["hover-panel"],
        )
