"""Paged grid of the selected cutouts, ordered by a chosen key and direction,
reviewable from the keyboard: move with j/k, turn pages with ←/→, tag with
i (interesting) and b (boring), Enter for similar images."""

from __future__ import annotations

import logging

import panel as pn
import param

from explorer.app.services.pool import run_off_loop
from explorer.app.state import PER_PAGE, AppState
from explorer.app.views.gallery import CutoutGallery
from explorer.app.views.keys import KeyboardShortcuts
from explorer.app.views.save_selection import QuickSave
from explorer.errors import LatentskyError

log = logging.getLogger(__name__)

TILE = 78
#: direction button label -> ``AppState.sort_descending``
DIRECTIONS = {"↓ largest first": True, "↑ smallest first": False}
#: key -> tag it sets (only tags the annotations database knows are bound)
TAG_KEYS = {"i": "interesting", "b": "boring", "a": "artefact"}
#: the keyboard cursor's outline (added to the tile's tag mark)
CURSOR_CSS = ".tile.mark-cursor { outline: 2px solid #7df9ff; outline-offset: 1px; }"


def _tag_keys() -> dict[str, str]:
    from explorer.store.annotations.database import TAGS

    return {key: tag for key, tag in TAG_KEYS.items() if tag in TAGS}


class GridView(pn.viewable.Viewer):
    """Selected cutouts, 48 per page; clicking one queries similar images.

    Attributes
    ----------
    cursor : int
        Index of the keyboard cursor on the current page.
    """

    state = param.ClassSelector(class_=AppState)
    cursor = param.Integer(default=0, bounds=(0, None))

    def __init__(self, state: AppState, **params) -> None:
        super().__init__(state=state, **params)
        from explorer.store.annotations import Annotations

        try:  # a broken annotations database costs the tags only
            self._notes = Annotations.of_store(state.store)
        except LatentskyError as exc:
            log.warning("grid tags unavailable: %s", exc)
            self._notes = None
        self._page_ids: list[int] = []
        self._n_pages = 1
        self._tiles_generation = 0
        self._count = pn.pane.HTML(
            "No selection: draw a box or lasso on the map.",
            css_classes=["selection-count"],
            width=250,
        )
        self._sort = pn.widgets.Select.from_param(
            state.param.sort_key, label="Order by", width=140
        )
        self._direction = pn.widgets.RadioButtonGroup(
            options=list(DIRECTIONS),
            value=self._direction_label(),
            color="light",
            css_classes=["sort-direction"],
            align="end",
        )
        self._direction.param.watch(self._on_direction, "value")
        self._prev = pn.widgets.Button(label="◀", width=40, disabled=True, align="end")
        self._next = pn.widgets.Button(label="▶", width=40, disabled=True, align="end")
        self._page_label = pn.pane.HTML(
            "", width=90, align="center", css_classes=["grid-page"]
        )
        self._clear = pn.widgets.Button(label="Clear", width=60)
        self._prev.on_click(lambda _: self.turn(-1))
        self._next.on_click(lambda _: self.turn(+1))
        self._clear.on_click(lambda _: state.clear_selection())
        self._gallery = CutoutGallery(
            on_action=self._on_action,
            on_inspect=lambda i: setattr(state, "inspected_id", i),
            tile=TILE,
            empty_text="Draw a box or lasso on the map to fill this grid.",
            css_classes=["selection-grid"],
            stylesheets=[CURSOR_CSS],
        )
        self.tag_keys = _tag_keys() if self._notes is not None else {}
        bindings = {
            "j": "next image",
            "k": "previous image",
            "ArrowRight": "next page",
            "ArrowLeft": "previous page",
            **{key: tag for key, tag in self.tag_keys.items()},
            "Enter": "similar images",
        }
        self.keys = KeyboardShortcuts(
            on_key=self.on_key, bindings=bindings, css_classes=["grid-keys"]
        )
        self.quick_save = QuickSave(state, self._notes)
        self._render()

    # -------------------------------------------------------------- order
    def _direction_label(self) -> str:
        return next(k for k, v in DIRECTIONS.items() if v == self.state.sort_descending)

    def _on_direction(self, event) -> None:
        self.state.sort_descending = DIRECTIONS[event.new]

    @param.depends("state.sort_descending", watch=True)
    def _show_direction(self) -> None:
        self._direction.value = self._direction_label()

    # ------------------------------------------------------------ actions
    def turn(self, step: int) -> None:
        """Go ``step`` pages forward (negative: back), within the pages."""
        page = min(max(0, self.state.page + step), self._n_pages - 1)
        if page != self.state.page:
            self.cursor = 0
            self.state.page = page

    def move(self, step: int) -> None:
        """Move the keyboard cursor by ``step`` images, across page ends."""
        target = self.cursor + step
        if target >= len(self._page_ids) and self.state.page < self._n_pages - 1:
            self.cursor = 0
            self.state.page += 1
        elif target < 0 and self.state.page > 0:
            self.cursor = PER_PAGE - 1  # clamped by the render
            self.state.page -= 1
        else:
            self.cursor = min(max(target, 0), max(len(self._page_ids) - 1, 0))

    def tag_cursor(self, tag: str) -> None:
        """Tag the image under the cursor (again: untag) and move to the next."""
        if not self._page_ids or self._notes is None:
            return
        source_id = self._page_ids[min(self.cursor, len(self._page_ids) - 1)]
        try:
            if self._notes.tag_of([source_id]).iat[0] == tag:
                self._notes.untag(source_id)
            else:
                self._notes.tag(source_id, tag)
        except Exception as exc:  # noqa: BLE001 - shown to the user
            self.state.notify("error", f"Cannot save the tag of {source_id}: {exc}")
            return
        self.state.param.trigger("clusters_changed")  # the review queue follows
        self.move(+1)
        self._remark()

    def on_key(self, key: str) -> None:
        """What a bound key does (see :attr:`keys`)."""
        if key in ("j", "k"):
            self.move(+1 if key == "j" else -1)
        elif key in ("ArrowRight", "ArrowLeft"):
            self.turn(+1 if key == "ArrowRight" else -1)
        elif key in self.tag_keys:
            self.tag_cursor(self.tag_keys[key])
        elif key == "Enter" and self._page_ids:
            self.state.query_similar([self._page_ids[self.cursor]])

    def _on_action(self, source_id: int, action: str) -> None:
        self.state.query_similar([source_id])

    # ------------------------------------------------------------ render
    @param.depends(
        "state.selection_ids",
        "state.page",
        "state.sort_key",
        "state.sort_descending",
        "state.display",
        watch=True,
    )
    def _render(self) -> None:
        state = self.state
        n = len(state.selection_ids)
        if n == 0:
            self._tiles_generation += 1  # a pending page is not shown
            self._count.object = "No selection: draw a box or lasso on the map."
            self._gallery.items = []
            self._page_ids, self._n_pages = [], 1
            self._page_label.object = ""
            self._prev.disabled = self._next.disabled = True
            return
        try:
            ids, n_pages = state.page_ids(PER_PAGE)
        except Exception as exc:
            log.exception("grid failed")
            state.notify("error", f"Cannot show the selection: {exc}")
            return
        self._count.object = f"<b>{n:,}</b> sources selected"
        self._show_page(ids, min(state.page, n_pages - 1), n_pages)

    def _show_page(self, ids, page: int, n_pages: int) -> None:
        """Render the page's tiles in the server's pool (reading and encoding
        48 cutouts took ~0.25 s of the event loop that serves every user's
        hovers), then show them with the page label; a newer page replaces a
        pending one. The keys act on the page shown, so the page's ids, the
        cursor and the label change together with the tiles."""
        self._tiles_generation += 1
        generation = self._tiles_generation
        images, settings = self.state.images, self.state.display

        def work() -> list[bytes]:
            return images.tiles(ids, settings, TILE)

        def done(pngs: list[bytes]) -> None:
            if generation != self._tiles_generation:
                return
            self._page_ids, self._n_pages = [int(i) for i in ids], n_pages
            self.cursor = min(self.cursor, max(len(ids) - 1, 0))
            self._page_label.object = f"page {page + 1} / {n_pages:,}"
            self._prev.disabled = page == 0
            self._next.disabled = page >= n_pages - 1
            self._gallery.show(ids, pngs, [str(i) for i in ids], self.marks())

        def failed(exc: Exception) -> None:
            if generation == self._tiles_generation:
                log.error("grid failed: %s", exc)
                self.state.notify("error", f"Cannot show the selection: {exc}")

        run_off_loop(pn.state.curdoc, work, done, failed)

    def marks(self) -> list[str]:
        """The tile marks of the page: each tile's tag, plus the cursor."""
        tags = [""] * len(self._page_ids)
        if self._notes is not None and self._page_ids:
            try:
                tags = self._notes.tag_of(self._page_ids).tolist()
            except LatentskyError as exc:
                log.warning("cannot read tags: %s", exc)
        return [
            (tag + " mark-cursor" if tag else "cursor") if i == self.cursor else tag
            for i, tag in enumerate(tags)
        ]

    @param.depends("cursor", watch=True)
    def _remark(self) -> None:
        # the cursor and tags change the marks only: the images are not re-sent
        # through the cutout renderer
        marks = self.marks()
        items = self._gallery.items
        if len(items) == len(marks):
            self._gallery.items = [
                {**item, "mark": mark} for item, mark in zip(items, marks, strict=True)
            ]

    def __panel__(self):
        return pn.Column(
            pn.Row(self._count, self._clear),
            self.quick_save,
            pn.Row(self._sort, self._direction),
            pn.Row(self._prev, self._page_label, self._next),
            self.keys,
            self._gallery,
            name="Selection",
            sizing_mode="stretch_width",
        )
