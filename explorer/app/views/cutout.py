"""The hovered source: its cutout (chosen stretch), id, RA/Dec and score."""

from __future__ import annotations

import logging

import numpy as np
import panel as pn
import param

from explorer.app.state import AppState

log = logging.getLogger(__name__)

SIZE = 200


def describe(state: AppState, source_id: int) -> str:
    """Markdown caption of ``source_id``: id, RA/Dec, anomaly score and cluster."""
    data = state.data
    row = int(data.rows_of([source_id])[0])
    table = data.table
    parts = [f"<b>id {source_id}</b>"]
    if "ra" in table and "dec" in table:
        parts.append(
            f"RA {table['ra'].iat[row]:.5f}°  Dec {table['dec'].iat[row]:+.5f}°"
        )
    if "anomaly_score" in table:
        score = table["anomaly_score"].iat[row]
        rank = table["anomaly_rank"].iat[row] if "anomaly_rank" in table else None
        text = f"anomaly score {score:.3g}"
        if rank is not None and np.isfinite(rank):
            text += f" (rank {int(rank):,})"
        parts.append(text)
    if "cluster" in table:
        parts.append(f"auto cluster {int(table['cluster'].iat[row])}")
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
        self._caption = pn.pane.HTML(
            "Hover over the map to see a source.",
            css_classes=["hover-caption"],
            width=215,
            styles={"font-size": "12px"},
        )

    @param.depends("state.hovered_id", "state.stretch", "state.version", watch=True)
    def _update(self) -> None:
        source_id = self.state.hovered_id
        if source_id is None:
            self._image.object = None
            return
        try:
            self._image.object = self.state.images.png(
                source_id, self.state.stretch, SIZE
            )
            self._caption.object = describe(self.state, source_id)
        except Exception as exc:
            log.exception("hover cutout failed")
            self._caption.object = f"Cannot show source {source_id}: {exc}"

    def __panel__(self):
        return pn.Column(
            self._image, self._caption, width=230, css_classes=["hover-panel"]
        )
