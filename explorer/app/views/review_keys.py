"""The review queue's keyboard path: review sources without the mouse.

``j``/``k`` move a cursor over the queue's page, ``←``/``→`` turn pages,
``i``/``b``/``a`` mark the source under the cursor interesting / boring /
artefact (in the learned order it then leaves the queue and the next one takes
its place), ``u`` undoes the newest label, ``Enter`` opens similar images.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from explorer.app.views.grid import _tag_keys
from explorer.app.views.keys import KeyboardShortcuts

#: The gallery mark of the tile under the cursor (the gallery prefixes
#: ``mark-`` to a tile's first mark; further ones are classes as given).
CURSOR_MARK = "cursor"


class ReviewCursor:
    """A cursor over the current page of the queue and what each key does.

    Parameters
    ----------
    label : callable
        ``label(source_id, tag)``: mark a source.
    turn : callable
        ``turn(step)``: go ``step`` pages forward (negative: back).
    undo : callable
        Undo the newest label.
    similar : callable
        ``similar(source_id)``: show similar images.
    """

    def __init__(
        self,
        label: Callable[[int, str], None],
        turn: Callable[[int], None],
        undo: Callable[[], None],
        similar: Callable[[int], None],
    ) -> None:
        self._label, self._turn, self._undo, self._similar = label, turn, undo, similar
        self.cursor = 0
        self.page_ids: list[int] = []
        self.tag_keys = _tag_keys()
        bindings = {
            "j": "next",
            "k": "previous",
            "ArrowRight": "next page",
            "ArrowLeft": "previous page",
            **self.tag_keys,
            "u": "undo",
            "Enter": "similar images",
        }
        self.keys = KeyboardShortcuts(
            on_key=self.on_key, bindings=bindings, css_classes=["queue-keys"]
        )

    def show(self, page_ids: Sequence[int]) -> None:
        """The page now shown; the cursor stays within it."""
        self.page_ids = [int(i) for i in page_ids]
        self.cursor = min(self.cursor, max(len(self.page_ids) - 1, 0))

    def marks(self, tags: Sequence[str] | None) -> list[str]:
        """Tile marks of the page: each tile's tag, plus the cursor."""
        base = list(tags) if tags is not None else [""] * len(self.page_ids)
        return [
            (f"{tag} mark-{CURSOR_MARK}" if tag else CURSOR_MARK)
            if i == self.cursor
            else tag
            for i, tag in enumerate(base)
        ]

    def on_key(self, key: str) -> None:
        """What a bound key does."""
        if key in ("j", "k"):
            step = 1 if key == "j" else -1
            self.cursor = min(
                max(self.cursor + step, 0), max(len(self.page_ids) - 1, 0)
            )
            self._turn(0)  # re-render the marks
        elif key in ("ArrowRight", "ArrowLeft"):
            self.cursor = 0
            self._turn(1 if key == "ArrowRight" else -1)
        elif key == "u":
            self._undo()
        elif not self.page_ids:
            return
        elif key in self.tag_keys:
            self._label(self.page_ids[self.cursor], self.tag_keys[key])
        elif key == "Enter":
            self._similar(self.page_ids[self.cursor])
