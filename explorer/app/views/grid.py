"""Paged grid of the selected cutouts, ordered by a chosen key."""

from __future__ import annotations

import logging

import panel as pn
import param

from explorer.app.state import PER_PAGE, AppState
from explorer.app.views.gallery import CutoutGallery

log = logging.getLogger(__name__)

TILE = 78


class GridView(pn.viewable.Viewer):
    """Selected cutouts, 48 per page; clicking one queries similar images."""

    state = param.ClassSelector(class_=AppState)

    def __init__(self, state: AppState, **params) -> None:
        super().__init__(state=state, **params)
        self._count = pn.pane.HTML(
            "No selection: draw a box or lasso on the map.",
            css_classes=["selection-count"],
            width=250,
        )
        self._sort = pn.widgets.Select.from_param(
            state.param.sort_key, label="Order by", width=140
        )
        self._prev = pn.widgets.Button(label="◀", width=40, disabled=True, align="end")
        self._next = pn.widgets.Button(label="▶", width=40, disabled=True, align="end")
        self._page_label = pn.pane.HTML("", width=90, align="center")
        self._clear = pn.widgets.Button(label="Clear", width=60)
        self._prev.on_click(lambda _: self._turn(-1))
        self._next.on_click(lambda _: self._turn(+1))
        self._clear.on_click(lambda _: state.clear_selection())
        self._gallery = CutoutGallery(
            on_action=self._on_action,
            on_inspect=lambda i: setattr(state, "inspected_id", i),
            tile=TILE,
            empty_text="Draw a box or lasso on the map to fill this grid.",
            css_classes=["selection-grid"],
        )

    def _turn(self, step: int) -> None:
        self.state.page = max(0, self.state.page + step)

    def _on_action(self, source_id: int, action: str) -> None:
        self.state.query_similar([source_id])

    @param.depends(
        "state.selection_ids",
        "state.page",
        "state.sort_key",
        "state.display",
        watch=True,
    )
    def _render(self) -> None:
        state = self.state
        n = len(state.selection_ids)
        if n == 0:
            self._count.object = "No selection: draw a box or lasso on the map."
            self._gallery.items = []
            self._page_label.object = ""
            self._prev.disabled = self._next.disabled = True
            return
        try:
            ids, n_pages = state.page_ids(PER_PAGE)
            pngs = state.images.many(ids, state.display, TILE)
        except Exception as exc:
            log.exception("grid failed")
            state.notify("error", f"Cannot show the selection: {exc}")
            return
        page = min(state.page, n_pages - 1)
        self._count.object = f"<b>{n:,}</b> sources selected"
        self._page_label.object = f"page {page + 1} / {n_pages:,}"
        self._prev.disabled = page == 0
        self._next.disabled = page >= n_pages - 1
        self._gallery.show(ids, pngs, [str(i) for i in ids])

    def __panel__(self):
        return pn.Column(
            pn.Row(self._count, self._clear),
            pn.Row(self._sort, self._prev, self._page_label, self._next),
            self._gallery,
            name="Selection",
            sizing_mode="stretch_width",
        )
