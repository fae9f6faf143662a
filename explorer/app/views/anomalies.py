"""Anomaly review queue: the most anomalous sources, page by page, each marked
"interesting" or "boring" (tags in ``annotations.sqlite``)."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import panel as pn
import param

from explorer.app.data import page_slice
from explorer.app.state import AppState
from explorer.app.views.gallery import CutoutGallery
from explorer.errors import LatentskyError

log = logging.getLogger(__name__)

TILE = 78
PER_PAGE = 24
#: button label -> tag
ACTIONS = {"★": "interesting", "✕": "boring"}
#: queue filter label -> mode of :func:`queue_rows`
FILTERS = {
    "all": "all",
    "science anomalies (no artefacts)": "science",
    "artefacts only": "artefacts",
}
#: map.parquet flag column -> its short name on a tile
FLAG_LABELS = {
    "cosmic_ray_flag": "CR",
    "trail_flag": "trail",
    "bad_column_flag": "bad col",
    "saturated_flag": "saturated",
}


def queue_rows(table: pd.DataFrame, k: int, mode: str = "all") -> np.ndarray:
    """Rows of the ``k`` most anomalous sources of the queue, most anomalous first.

    Parameters
    ----------
    table : DataFrame
        The version's map table (``anomaly_score``; ``artefact_score`` for
        the filters).
    k : int
        Queue length.
    mode : {"all", "science", "artefacts"}
        ``science`` drops sources an artefact detector flagged
        (``artefact_score`` >= 0.5), ``artefacts`` keeps only those; a map
        without ``artefact_score`` has no artefacts.

    Returns
    -------
    ndarray
        ``(<= k,)`` int64 row numbers.
    """
    if "anomaly_score" not in table:
        return np.zeros(0, dtype=np.int64)
    score = table["anomaly_score"].to_numpy(dtype=np.float64)
    flagged = (
        table["artefact_score"].to_numpy() >= 0.5
        if "artefact_score" in table
        else np.zeros(len(table), dtype=bool)
    )
    keep = {"all": np.ones(len(table), bool), "science": ~flagged}.get(mode, flagged)
    rows = np.flatnonzero(keep)
    order = np.argsort(-score[rows], kind="stable")[: max(int(k), 0)]
    return rows[order].astype(np.int64)


def flag_text(table: pd.DataFrame, rows: np.ndarray) -> list[str]:
    """The artefact flags of each row as short words (``"CR, trail"``, or ``""``)."""
    present = [c for c in FLAG_LABELS if c in table]
    flags = table[present].to_numpy(dtype=bool)[rows] if present else None
    if flags is None:
        return [""] * len(rows)
    return [
        ", ".join(FLAG_LABELS[c] for c, on in zip(present, row, strict=True) if on)
        for row in flags
    ]


class AnomalyView(pn.viewable.Viewer):
    """Top-k anomalies with interesting/boring marks and review progress."""

    state = param.ClassSelector(class_=AppState)
    page = param.Integer(default=0, bounds=(0, None))

    def __init__(self, state: AppState, **params) -> None:
        super().__init__(state=state, **params)
        from explorer.store.annotations import Annotations

        try:  # a broken annotations database only costs the tags
            self._notes = Annotations.of_store(state.store)
        except LatentskyError:
            self._notes = None
        self._toggle = pn.widgets.Toggle.from_param(
            state.param.show_anomalies,
            label="Highlight top-k on the map",
            width=210,
            color="primary",
        )
        self._k = pn.widgets.IntSlider.from_param(
            state.param.anomaly_k, label="k", start=1, end=5000, width=200
        )
        self._filter = pn.widgets.RadioButtonGroup(
            options=list(FILTERS), value="all", color="light"
        )
        self._filter.param.watch(lambda _: self._refilter(), "value")
        self._progress = pn.indicators.Progress(
            value=0, max=1, width=200, bar_color="success"
        )
        self._status = pn.pane.HTML("", css_classes=["anomaly-status"])
        self._prev = pn.widgets.Button(label="◀", width=40)
        self._next = pn.widgets.Button(label="▶", width=40)
        self._prev.on_click(lambda _: self._turn(-1))
        self._next.on_click(lambda _: self._turn(+1))
        self._gallery = CutoutGallery(
            on_action=self._on_action,
            tile=TILE,
            actions=list(ACTIONS),
            css_classes=["anomaly-grid"],
            empty_text="This version has no anomaly scores.",
        )
        self._render()

    def _refilter(self) -> None:
        if self.page:
            self.page = 0  # re-renders through the watcher
        else:
            self._render()

    def _turn(self, step: int) -> None:
        self.page = max(0, self.page + step)

    def _on_action(self, source_id: int, action: str) -> None:
        if action == "click":
            self.state.query_similar([source_id])
            return
        try:
            tag = ACTIONS[action]
            if self._notes.tag_of([source_id]).iat[0] == tag:
                self._notes.untag(source_id)  # a second click takes the mark back
            else:
                self._notes.tag(source_id, tag)
        except Exception as exc:
            self.state.notify("error", f"Cannot save the tag: {exc}")
            return
        self._render()

    @param.depends(
        "page",
        "state.anomaly_k",
        "state.version",
        "state.display",
        "state.clusters_changed",
        watch=True,
    )
    def _render(self) -> None:
        state = self.state
        mode = FILTERS[self._filter.value]
        rows = queue_rows(state.data.table, state.anomaly_k, mode)
        ids = state.data.ids[rows]
        sl, n_pages = page_slice(len(ids), self.page, PER_PAGE)
        page_ids = ids[sl]
        tags = self._notes.tag_of(ids) if len(ids) and self._notes is not None else None
        reviewed = int((tags != "").sum()) if tags is not None else 0
        self._progress.max = max(len(ids), 1)
        self._progress.value = reviewed
        n_interesting = int((tags == "interesting").sum()) if tags is not None else 0
        self._status.object = (
            f"reviewed <b>{reviewed}</b> of top {len(ids):,} · {n_interesting} "
            f"interesting · page {sl.start // PER_PAGE + 1} / {n_pages}"
        )
        if len(page_ids) == 0:
            self._gallery.items = []
            return
        scores = state.data.table["anomaly_score"].to_numpy()[rows[sl]]
        page_tags = tags.loc[page_ids].tolist() if tags is not None else None
        pngs = state.images.many(page_ids, state.display, TILE)
        flags = flag_text(state.data.table, rows[sl])
        captions = [
            f"{i} · {s:.3g}" + (f" · {f}" if f else "")
            for i, s, f in zip(page_ids, scores, flags, strict=True)
        ]
        self._gallery.show(page_ids, pngs, captions, page_tags)

    def __panel__(self):
        return pn.Column(
            pn.Row(self._toggle, self._k),
            self._filter,
            pn.Row(
                pn.pane.HTML("<small>review progress</small>", width=95),
                self._progress,
                self._prev,
                self._next,
            ),
            self._status,
            pn.pane.HTML(
                "<small>★ interesting · ✕ boring (click again to undo) · "
                "click an image for similar ones</small>"
            ),
            self._gallery,
            name="Anomalies",
            sizing_mode="stretch_width",
        )
