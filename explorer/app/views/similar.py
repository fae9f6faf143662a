"""Similar images: top-k neighbours of a clicked source, a grid image or an
uploaded FITS cutout; positive/negative marks refine the query (Rocchio).

The query is the first tile (outlined, captioned "query"), each result shows
its id, RA/Dec and cosine similarity; the result set is written to
``state.similar_result_ids`` (the map outlines it) and "Select these" makes
the query and its results the selection (to save as a cluster or export)."""

from __future__ import annotations

import asyncio
import logging

import numpy as np
import panel as pn
import param

from explorer.app import services
from explorer.app.services import similarity_index
from explorer.app.state import AppState
from explorer.app.upload import embed_upload, parse_fits_cutout, upload_limit_text
from explorer.app.views.gallery import CutoutGallery
from explorer.errors import LatentskyError

log = logging.getLogger(__name__)

TILE = 84
#: tile captions hold three lines: id, RA/Dec, similarity
CAPTION_CSS = ".tile figcaption { white-space: pre-line; line-height: 1.2; }"
# the shared index cache lives in services; importable from here as before
__all__ = ["TILE", "SimilarView", "similarity_index"]


class SimilarView(pn.viewable.Viewer):
    """Query, results with +/− marks, refine, and FITS upload."""

    state = param.ClassSelector(class_=AppState)

    def __init__(self, state: AppState, **params) -> None:
        super().__init__(state=state, **params)
        self._vector: np.ndarray | None = None  # an uploaded query's embedding
        self._upload_name = ""
        self._last_ids: list[int] = []
        self._last_sims: list[float] = []
        self._header = pn.pane.HTML(
            "Click a source on the map or an image in the grid to find similar ones.",
            css_classes=["similar-header"],
            sizing_mode="stretch_width",
        )
        self._k = pn.widgets.IntSlider.from_param(
            state.param.similar_k, label="k", width=160
        )
        self._refine = pn.widgets.Button(
            label="Refine with marks", color="primary", width=140, disabled=True
        )
        self._refine.on_click(lambda _: self._search())
        self._select = pn.widgets.Button(
            label="Select these",
            color="primary",
            width=130,
            disabled=True,
            css_classes=["similar-select"],
            description="make the query and its results the selection "
            "(then save it as a cluster or export it)",
        )
        self._select.on_click(lambda _: self.select_results())
        self._upload = pn.widgets.FileInput(accept=".fits,.fit,.fts", width=200)
        self._upload.param.watch(self._on_upload, "value")
        self._gallery = CutoutGallery(
            on_action=self._on_action,
            tile=TILE,
            actions=["+", "−"],
            css_classes=["similar-grid"],
            empty_text="No query yet.",
            stylesheets=[CAPTION_CSS],
        )

    # -------------------------------------------------------------- events
    @param.depends("state.similar_query_ids", "state.version", watch=True)
    def _new_query(self) -> None:
        self._vector = None
        self._search()

    def _on_action(self, source_id: int, action: str) -> None:
        if action == "click":
            self.state.query_similar([source_id])
            return
        label = "positive" if action == "+" else "negative"
        current = (
            source_id in self.state.positives
            if label == "positive"
            else source_id in self.state.negatives
        )
        self.state.mark(source_id, None if current else label)
        self._store_mark(source_id, 0 if current else 1 if label == "positive" else -1)

    def _store_mark(self, source_id: int, sign: int) -> None:
        """Keep the +/- mark as (query, result) pairs, for fine-tuning later.

        One pair per query source (``sign`` 0 removes them); an uploaded
        cutout has no source id, so its marks only refine this search.
        """
        from explorer.store.annotations import Annotations

        query_ids = [] if self._vector is not None else self.state.similar_query_ids
        try:
            notes = Annotations.of_store(self.state.store)
            for query_id in query_ids:
                if int(query_id) == int(source_id):
                    continue
                if sign:
                    notes.add_similar_mark(
                        query_id, source_id, sign, self.state.version
                    )
                else:
                    notes.remove_similar_mark(query_id, source_id, self.state.version)
        except LatentskyError as exc:
            self.state.notify("warning", f"The mark is not saved: {exc}")

    @param.depends("state.positives", "state.negatives", watch=True)
    def _on_marks(self) -> None:
        # only the marks change: the tiles' images are sent again as they are,
        # not re-rendered, so the outline follows the click at once
        self._refine.disabled = not (self.state.positives or self.state.negatives)
        marks = dict(zip(self._last_ids, self._marks(self._last_ids), strict=True))
        self._gallery.items = [
            {
                **item,
                "mark": item["mark"] if item["mark"] == "query" else marks[item["id"]],
            }
            for item in self._gallery.items
        ]

    def select_results(self) -> None:
        """Make the query sources and the shown results the selection."""
        ids = list(dict.fromkeys([*self.state.similar_query_ids, *self._last_ids]))
        if ids:
            self.state.select_ids(ids)
            self.state.notify(
                "info", f"{len(ids)} similar sources are now the selection."
            )

    async def _on_upload(self, event) -> None:
        if not event.new:
            return
        state = self.state
        name = self._upload.filename or "upload"
        try:
            cutout = parse_fits_cutout(
                event.new, state.store.bands, state.store.cutout_size, name
            )
        except LatentskyError as exc:
            state.notify("error", f"{exc}")
            return
        self._header.object = (
            f"embedding {name} with the checkpoint of version {state.version}…"
        )
        try:
            vector = await asyncio.wrap_future(
                services.executor().submit(
                    embed_upload, state.store, state.version, cutout
                )
            )
        except LatentskyError as exc:
            state.notify("error", str(exc))
            self._header.object = f"Cannot search by {name}: {exc}"
            return
        except Exception as exc:  # torch errors, bad checkpoint
            log.exception("embedding upload failed")
            state.notify("error", f"Embedding {name} failed: {exc}")
            return
        self._upload_name = name
        state.param.update(similar_query_ids=[], positives=[], negatives=[])
        self._vector = vector  # set after the update, which resets it
        self._search()

    # -------------------------------------------------------------- search
    @param.depends("state.similar_k", "state.display", watch=True)
    def _search(self) -> None:
        state = self.state
        query = list(state.similar_query_ids)
        if not query and self._vector is None:
            self._header.object = (
                "Click a source on the map or an image in the grid "
                "to find similar ones."
            )
            self._draw([], [])
            self.state.similar_result_ids = []
            return
        try:
            index = similarity_index(state.store, state.version)
            k = state.similar_k
            if self._vector is not None and not query:
                found = index.search_vectors(self._vector, k)
                label = f"uploaded {self._upload_name}"
            elif state.positives or state.negatives:
                found = index.refine(
                    query + list(state.positives), list(state.negatives), k
                )
                label = (
                    f"{len(query)} quer{'y' if len(query) == 1 else 'ies'} + "
                    f"{len(state.positives)} positive, "
                    f"{len(state.negatives)} negative"
                )
            else:
                found = index.similar(query, k)
                label = "source " + ", ".join(map(str, query[:5]))
        except Exception as exc:
            log.exception("similarity search failed")
            state.notify("error", f"Similarity search failed: {exc}")
            return
        ids = found["id"].astype(int).tolist()
        sims = found["similarity"].astype(float).tolist()
        self._header.object = (
            f"<b>{len(ids)}</b> most similar to {label} "
            f"(cosine similarity under each image)"
        )
        self._draw(ids, sims)
        state.similar_result_ids = ids

    def _marks(self, ids) -> list[str]:
        positives, negatives = set(self.state.positives), set(self.state.negatives)
        return [
            "positive" if i in positives else "negative" if i in negatives else ""
            for i in ids
        ]

    def _draw(self, ids, sims) -> None:
        self._last_ids, self._last_sims = list(ids), list(sims)
        self._select.disabled = not ids
        if not ids:
            self._gallery.items = []
            return
        state = self.state
        query = [int(i) for i in state.similar_query_ids]
        shown = [*query, *ids]
        captions = [
            *(
                f"query {i}\n{radec}"
                for i, radec in zip(query, self._radec(query), strict=True)
            ),
            *(
                f"{i}\n{radec}\nsim {s:.3f}"
                for i, radec, s in zip(ids, self._radec(ids), sims, strict=True)
            ),
        ]
        marks = ["query"] * len(query) + self._marks(ids)
        pngs = state.images.tiles(shown, state.display, TILE)
        self._gallery.show(shown, pngs, captions, marks)

    def _radec(self, ids) -> list[str]:
        """``"150.123 +2.123"`` (degrees) per source, ``"RA/Dec unknown"`` without."""
        data, ids = self.state.data, [int(i) for i in ids]
        known: dict[int, str] = {}
        if ids and "ra" in data.table and "dec" in data.table:
            rows = data.rows_present(ids)
            ra = data.table["ra"].to_numpy(dtype=float)[rows]
            dec = data.table["dec"].to_numpy(dtype=float)[rows]
            for i, r, d in zip(data.ids[rows], ra, dec, strict=True):
                if np.isfinite(r) and np.isfinite(d):
                    known[int(i)] = f"{r:.3f} {d:+.3f}"
        return [known.get(i, "RA/Dec unknown") for i in ids]

    def __panel__(self):
        return pn.Column(
            self._header,
            self._k,
            pn.Row(self._refine, self._select),
            pn.Row(
                pn.pane.HTML(
                    f"Search by a FITS cutout (at most {upload_limit_text()}):",
                    width=150,
                    css_classes=["upload-limit"],
                ),
                self._upload,
            ),
            self._gallery,
            name="Similar",
            sizing_mode="stretch_width",
        )
