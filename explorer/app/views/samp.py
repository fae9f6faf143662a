"""Take the selection elsewhere: downloads and SAMP (TOPCAT, Aladin).

Downloads of the selection or a saved cluster: the table (CSV, FITS, VOTable,
Parquet: id, RA/Dec, catalogue columns, map position, scores, clusters, tag)
and a PNG contact sheet drawn with the session's display settings. "Send to
TOPCAT/Aladin" broadcasts the same table as a VOTable over SAMP; rows
selected there (``table.select.rowList``) come back as this session's
selection, highlighted on the map. The SAMP client is the server's one
(:func:`explorer.samp.samp_link`); a missing hub is a notification.
"""

from __future__ import annotations

import io
import logging

import numpy as np
import panel as pn
import param

from explorer.app import services
from explorer.app.state import AppState
from explorer.errors import LatentskyError, StoreError
from explorer.store.export import FORMAT_SUFFIX, FORMATS, export_bytes, source_table

log = logging.getLogger(__name__)

SELECTION = "(selection)"


class ShareView(pn.viewable.Viewer):
    """Export buttons and SAMP for the selection or a saved cluster."""

    state = param.ClassSelector(class_=AppState)

    def __init__(self, state: AppState, **params) -> None:
        super().__init__(state=state, **params)
        self._what = pn.widgets.Select(
            label="Sources", options=[SELECTION], value=SELECTION, width=170
        )
        self._format = pn.widgets.Select(
            label="Format", options=list(FORMATS), value="votable", width=100
        )
        self._table = pn.widgets.FileDownload(
            callback=self._table_file,
            filename="selection.vot",
            label="Download table",
            width=150,
            css_classes=["download-table"],
        )
        self._sheet = pn.widgets.FileDownload(
            callback=self._sheet_file,
            filename="selection.png",
            label="Contact sheet (PNG)",
            width=170,
            css_classes=["download-sheet"],
        )
        self._send = pn.widgets.Button(
            label="Send to TOPCAT/Aladin", width=190, css_classes=["samp-send"]
        )
        self._send.on_click(self.send)
        self._what.param.watch(self._names, "value")
        self._format.param.watch(self._names, "value")
        self._refresh_clusters()
        self._listen()

    # ------------------------------------------------------------ sources
    @param.depends("state.clusters_changed", watch=True)
    def _refresh_clusters(self) -> None:
        from explorer.store.annotations import Annotations

        names: list[str] = []
        path = self.state.store.annotations_path
        if path.exists():
            try:
                names = list(Annotations(path).names())
            except StoreError as exc:
                # the Clusters tab says why; here only the selection is offered
                log.debug("saved clusters not offered for export: %s", exc)
        self._what.options = [SELECTION, *names]

    def _names(self, event=None) -> None:
        what = self._what.value or SELECTION
        stem = "selection" if what == SELECTION else what
        stem = "".join(c if c.isalnum() or c in "-_" else "_" for c in stem)
        self._table.filename = f"{stem}{FORMAT_SUFFIX[self._format.value]}"
        self._sheet.filename = f"{stem}.png"

    def chosen_ids(self) -> tuple[np.ndarray, str]:
        """Ids of the chosen sources (selection or cluster) and their name.

        Raises
        ------
        LatentskyError
            If the selection is empty or the cluster does not exist.
        """
        from explorer.errors import DataError
        from explorer.store.annotations import Annotations

        what = self._what.value or SELECTION
        if what == SELECTION:
            ids = np.asarray(self.state.ordered_selection(), dtype=np.int64)
            if len(ids) == 0:
                raise DataError("the selection is empty: draw a box, lasso or cone")
            return ids, "latentsky selection"
        return Annotations(self.state.store.annotations_path).members(what), what

    # ----------------------------------------------------------- downloads
    def table_bytes(self) -> bytes:
        """The table file of the chosen sources in the chosen format."""
        ids, name = self.chosen_ids()
        meta = {"selection": name}
        return export_bytes(
            self.state.store, ids, self._format.value, self.state.version, meta=meta
        )

    def sheet_bytes(self) -> bytes:
        """The PNG contact sheet of the chosen sources (session display)."""
        from explorer.app.render.sheet import MAX_TILES, store_contact_sheet

        ids, name = self.chosen_ids()
        if len(ids) > MAX_TILES:
            self.state.notify(
                "warning", f"contact sheet of the first {MAX_TILES} of {len(ids)}"
            )
            ids = ids[:MAX_TILES]
        return store_contact_sheet(
            self.state.store, ids, self.state.display, title=name
        )

    def _table_file(self):
        return self._download(self.table_bytes, "table")

    def _sheet_file(self):
        return self._download(self.sheet_bytes, "contact sheet")

    def _download(self, make, what: str):
        try:
            return io.BytesIO(make())
        except (LatentskyError, ValueError) as exc:
            self.state.notify("warning", f"No {what}: {exc}")
            return None

    # ---------------------------------------------------------------- SAMP
    def send(self, event=None) -> str | None:
        """Broadcast the chosen sources as a VOTable; returns the table-id."""
        from explorer.samp import SampUnavailable, samp_link

        try:
            ids, name = self.chosen_ids()
            table = source_table(self.state.store, ids, version=self.state.version)
            table_id = samp_link().send_table(table, name, owner=id(self.state))
        except SampUnavailable as exc:
            self.state.notify("warning", str(exc))
            return None
        except LatentskyError as exc:
            self.state.notify("warning", f"Nothing sent: {exc}")
            return None
        self.state.notify("info", f"sent {len(ids):,} sources over SAMP ({name})")
        return table_id

    def _listen(self) -> None:
        """Receive row selections of our tables (only once a link exists)."""
        from explorer.samp import samp_link

        doc = pn.state.curdoc
        state = self.state
        key = id(state)

        def select(ids: np.ndarray) -> None:
            def apply() -> None:
                state.select_ids(ids, {"kind": "samp", "coords": []})
                state.notify("info", f"{len(ids):,} sources selected from SAMP")

            if services.in_session(doc):
                doc.add_next_tick_callback(apply)
            else:
                apply()

        samp_link().on_rows(key, select)
        if services.in_session(doc):
            pn.state.on_session_destroyed(lambda ctx: samp_link().on_rows(key, None))

    def __panel__(self):
        return pn.Column(
            pn.Row(self._what, self._format),
            pn.Row(self._table, self._sheet),
            self._send,
            name="Export & SAMP",
            sizing_mode="stretch_width",
        )
