"""Anomaly review queue: sources page by page, each marked interesting, boring
or artefact (tags in ``annotations.sqlite``).

The queue learns: by default it is ordered by the relevance that
:mod:`explorer.active` predicts from the labels given so far (``exploit``),
or by where the model knows least (``explore``); ``anomaly score`` is the
plain unsupervised order. The relevance model of a version is shared by the
server's sessions and synced from the annotations before each render, so a
label (or an undo) from anywhere re-ranks every open queue.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import numpy as np
import pandas as pd
import panel as pn
import param

from explorer.app.data import page_slice
from explorer.app.services.caches import SharedHunt, shared_hunt
from explorer.app.state import AppState
from explorer.app.views.deferred import WhenShown
from explorer.app.views.gallery import CutoutGallery
from explorer.app.views.grid import CURSOR_CSS
from explorer.app.views.review_keys import ReviewCursor
from explorer.errors import LatentskyError

log = logging.getLogger(__name__)

TILE = 78
PER_PAGE = 24
#: button label -> tag
ACTIONS = {"★": "interesting", "✕": "boring", "⚠": "artefact"}
#: queue filter label -> mode of :func:`queue_rows`
FILTERS = {
    "all": "all",
    "science anomalies (no artefacts)": "science",
    "artefacts only": "artefacts",
}
#: queue order label -> acquisition mode (``anomaly``: the plain score)
ORDERS = {
    "learned (exploit)": "exploit",
    "explore": "explore",
    "anomaly score": "anomaly",
}
#: map.parquet flag column -> its short name on a tile
FLAG_LABELS = {
    "cosmic_ray_flag": "CR",
    "trail_flag": "trail",
    "bad_column_flag": "bad col",
    "saturated_flag": "saturated",
}


def _filter_mask(table: pd.DataFrame, mode: str) -> np.ndarray:
    """``(N,)`` bool: the rows the queue filter ``mode`` keeps."""
    flagged = (
        table["artefact_score"].to_numpy() >= 0.5
        if "artefact_score" in table
        else np.zeros(len(table), dtype=bool)
    )
    return {"all": np.ones(len(table), bool), "science": ~flagged}.get(mode, flagged)


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
    rows = np.flatnonzero(_filter_mask(table, mode))
    order = np.argsort(-score[rows], kind="stable")[: max(int(k), 0)]
    return rows[order].astype(np.int64)


def learned_rows(
    hunt, table: pd.DataFrame, k: int, mode: str = "all", order: str = "exploit"
) -> np.ndarray:
    """Rows of the next ``k`` sources to review by the relevance model, best first.

    Labelled sources are left out: each label moves the queue on.

    Parameters
    ----------
    hunt : explorer.active.session.Hunt
        Synced with the annotations; its rows are the map table's rows.
    table : DataFrame
        The version's map table (``artefact_score`` for the filters).
    k : int
        Queue length.
    mode : {"all", "science", "artefacts"}
        The filter of :func:`queue_rows`.
    order : {"exploit", "explore"}
        :func:`explorer.active.acquisition.acquisition_score`.

    Returns
    -------
    ndarray
        ``(<= k,)`` int64 row numbers; ties in row order.
    """
    from explorer.active.acquisition import acquisition_score

    score = acquisition_score(hunt.model, order).copy()
    keep = _filter_mask(table, mode)
    keep[hunt.model.labelled_rows()] = False
    rows = np.flatnonzero(keep)
    k = min(max(int(k), 0), len(rows))
    if k == 0:
        return np.zeros(0, dtype=np.int64)
    if k < len(rows):  # one linear pass at 1 M sources, then sort only the top
        rows = rows[np.argpartition(-score[rows], k - 1)[:k]]
    return rows[np.lexsort((rows, -score[rows]))].astype(np.int64)


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


class HuntTally:
    """Whether the hunt pays off: finds per source viewed, labels, time.

    Counts only this session's own work since it started.

    Parameters
    ----------
    clock : callable, optional
        Seconds (monotonic); injectable for tests.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self.started = clock()
        self.viewed: set[int] = set()
        #: this session's labels: source id -> tag
        self.labels: dict[int, str] = {}

    def view(self, ids) -> None:
        """Count ``ids`` as shown to the user."""
        self.viewed.update(int(i) for i in np.atleast_1d(ids))

    def label(self, source_id: int, tag: str) -> None:
        """Record a label given ("" takes it back)."""
        if tag:
            self.labels[int(source_id)] = tag
        else:
            self.labels.pop(int(source_id), None)

    def undo(self, undone: pd.DataFrame) -> None:
        """Apply :meth:`Annotations.undo_last_label`'s report."""
        for source_id, restored in zip(
            undone["source_id"].tolist(), undone["restored"].tolist(), strict=True
        ):
            self.label(source_id, restored)

    @property
    def interesting(self) -> int:
        """Sources this session labelled interesting (still so)."""
        return sum(tag == "interesting" for tag in self.labels.values())

    def text(self) -> str:
        """One line: ``2 interesting in 48 viewed (4.2%) · 9 labels · 3 min 05 s``."""
        seconds = int(self._clock() - self.started)
        rate = 100.0 * self.interesting / len(self.viewed) if self.viewed else 0.0
        return (
            f"{self.interesting} interesting in {len(self.viewed)} viewed "
            f"({rate:.1f}%) · {len(self.labels)} labels · "
            f"{seconds // 60} min {seconds % 60:02d} s"
        )


class AnomalyView(pn.viewable.Viewer):
    """The review queue: learned or anomaly order, labels, undo and a tally."""

    state = param.ClassSelector(class_=AppState)
    page = param.Integer(default=0, bounds=(0, None))

    def __init__(self, state: AppState, **params) -> None:
        super().__init__(state=state, **params)
        from explorer.store.annotations import Annotations

        try:  # a broken annotations database only costs the tags
            self._notes = Annotations.of_store(state.store)
        except LatentskyError:
            self._notes = None
        self.tally = HuntTally()
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
        self._order = pn.widgets.RadioButtonGroup(
            options=list(ORDERS), value=next(iter(ORDERS)), color="light"
        )
        for widget in (self._filter, self._order):
            widget.param.watch(lambda _: self._refilter(), "value")
        self._undo = pn.widgets.Button(label="↶ Undo last label", width=150)
        self._undo.on_click(lambda _: self.undo())
        self._progress = pn.indicators.Progress(
            value=0, max=1, width=200, bar_color="success"
        )
        self._status = pn.pane.HTML("", css_classes=["anomaly-status"])
        self._tally = pn.pane.HTML("", css_classes=["hunt-tally"])
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
            stylesheets=[CURSOR_CSS],
        )
        self.review = ReviewCursor(
            label=self.label,
            turn=self._turn,
            undo=self.undo,
            similar=lambda source_id: self.state.query_similar([source_id]),
        )
        # a hidden tab is redrawn when shown (a save in any session redraws the
        # galleries on screen only)
        self._render_when_shown = WhenShown(state, "Anomalies", self._render)
        self._render_when_shown()

    def _refilter(self) -> None:
        if self.page:
            self.page = 0  # re-renders through the watcher
        else:
            self._render()

    def _turn(self, step: int) -> None:
        page = max(0, self.page + step)
        if page != self.page:
            self.page = page  # re-renders through the watcher
        else:
            self._render()

    def _on_action(self, source_id: int, action: str) -> None:
        if action == "click":
            self.state.query_similar([source_id])
            return
        if action in ACTIONS:
            self.label(source_id, ACTIONS[action])

    def label(self, source_id: int, tag: str) -> None:
        """Tag ``source_id`` (a second identical click takes the mark back), re-rank."""
        try:
            if self._notes.tag_of([source_id]).iat[0] == tag:
                self._notes.untag(source_id)
                self.tally.label(source_id, "")
            else:
                self._notes.tag(source_id, tag)
                self.tally.label(source_id, tag)
        except Exception as exc:
            self.state.notify("error", f"Cannot save the tag: {exc}")
            return
        self._render()

    def undo(self) -> None:
        """Undo the newest label action (of any session) and re-rank."""
        try:
            undone = self._notes.undo_last_label()
        except Exception as exc:
            self.state.notify("error", f"Cannot undo: {exc}")
            return
        if undone.empty:
            self.state.notify("info", "No label left to undo.")
            return
        self.tally.undo(undone)
        self._render()

    def _hunt(self) -> SharedHunt | None:
        """The version's shared relevance model, or None (the plain order)."""
        if ORDERS[self._order.value] == "anomaly" or self._notes is None:
            return None
        try:
            return shared_hunt(self.state.store, self.state.version)
        except LatentskyError as exc:
            log.warning("no learned queue: %s", exc)
            return None

    def _queue(self) -> tuple[np.ndarray, np.ndarray | None]:
        """Rows of the queue and, for the learned orders, their relevance."""
        table = self.state.data.table
        mode = FILTERS[self._filter.value]
        shared = self._hunt()
        if shared is None:
            return queue_rows(table, self.state.anomaly_k, mode), None
        with shared.lock:
            shared.hunt.sync(self._notes)
            order = ORDERS[self._order.value]
            rows = learned_rows(shared.hunt, table, self.state.anomaly_k, mode, order)
            return rows, shared.hunt.model.relevance()[rows]

    @param.depends(
        "page",
        "state.anomaly_k",
        "state.version",
        "state.display",
        "state.clusters_changed",
        watch=True,
    )
    def _on_change(self) -> None:
        self._render_when_shown()

    def _render(self) -> None:
        state = self.state
        rows, relevance = self._queue()
        ids = state.data.ids[rows]
        sl, n_pages = page_slice(len(ids), self.page, PER_PAGE)
        page_ids = ids[sl]
        tags = self._notes.tag_of(ids) if len(ids) and self._notes is not None else None
        self._show_status(ids, tags, sl, n_pages, relevance is not None)
        review = getattr(self, "review", None)
        if review is not None:
            review.show(page_ids)
        if len(page_ids) == 0:
            self._gallery.items = []
            return
        self.tally.view(page_ids)
        self._tally.object = self.tally.text()
        if relevance is None:
            values = state.data.table["anomaly_score"].to_numpy()[rows[sl]]
            texts = [f"{v:.3g}" for v in values]
        else:
            texts = [f"r={v:.2f}" for v in relevance[sl]]
        page_tags = tags.loc[page_ids].tolist() if tags is not None else None
        if review is not None:
            page_tags = review.marks(page_tags)
        pngs = state.images.tiles(page_ids, state.display, TILE)
        flags = flag_text(state.data.table, rows[sl])
        captions = [
            f"{i} · {t}" + (f" · {f}" if f else "")
            for i, t, f in zip(page_ids, texts, flags, strict=True)
        ]
        self._gallery.show(page_ids, pngs, captions, page_tags)

    def _show_status(self, ids, tags, sl: slice, n_pages: int, learned: bool) -> None:
        reviewed = int((tags != "").sum()) if tags is not None else 0
        self._progress.max = max(len(ids), 1)
        self._progress.value = reviewed
        page = f"page {sl.start // PER_PAGE + 1} / {n_pages}"
        if learned:
            self._status.object = (
                f"top {len(ids):,} unlabelled by learned relevance · {page}"
            )
        else:
            n_interesting = (
                int((tags == "interesting").sum()) if tags is not None else 0
            )
            self._status.object = (
                f"reviewed <b>{reviewed}</b> of top {len(ids):,} · {n_interesting} "
                f"interesting · {page}"
            )
        self._tally.object = self.tally.text()

    def __panel__(self):
        return pn.Column(
            pn.Row(self._toggle, self._k),
            self._order,
            self._filter,
            pn.Row(
                pn.pane.HTML("<small>review progress</small>", width=95),
                self._progress,
                self._prev,
                self._next,
            ),
            self._status,
            pn.Row(self._tally, self._undo),
            pn.pane.HTML(
                "<small>★ interesting · ✕ boring · ⚠ artefact (click again to "
                "take it back) · the learned queue re-ranks after each label · "
                "click an image for similar ones</small>"
            ),
            self.review.keys,
            self._gallery,
            name="Anomalies",
            sizing_mode="stretch_width",
        )
