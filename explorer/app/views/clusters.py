"""Saved clusters: save the selection with a note, list, rename, delete, show
on the map, export (CSV / FITS table / VOTable). Stored in annotations.sqlite.

A saved cluster keeps how it was made (:func:`selection_provenance`: the box
or lasso in map coordinates, the version, its encoder checkpoint hash, the
colour settings), so it can be re-applied to another version
(:func:`reapply_on_version`) with a report of who stayed, joined and left."""

from __future__ import annotations

import html
import io
import logging

import panel as pn
import param

from explorer.app.services import subscribe_session
from explorer.app.state import AppState
from explorer.app.views.cluster_provenance import reapply_on_version
from explorer.app.views.deferred import WhenShown
from explorer.app.views.save_selection import save_selection
from explorer.errors import LatentskyError
from explorer.store.export import FORMAT_SUFFIX, export_bytes

log = logging.getLogger(__name__)

#: export format -> file suffix (the store's own table)
EXPORT_SUFFIX = FORMAT_SUFFIX


class ClustersView(pn.viewable.Viewer):
    """Named clusters shared by every session of the store."""

    state = param.ClassSelector(class_=AppState)

    def __init__(self, state: AppState, **params) -> None:
        # Long on purpose: one widget per line, in the order the tab shows
        # them, then their wiring; split up, the layout would be harder to read.
        super().__init__(state=state, **params)
        from explorer.store.annotations import Annotations

        #: why the annotation database cannot be used (None: it can)
        self.unavailable: str | None = None
        try:
            self._notes = Annotations.of_store(state.store)
        except LatentskyError as exc:
            self._notes = None
            broken = exc
        else:
            broken = None
        self._name = pn.widgets.TextInput(
            label="Cluster name", placeholder="e.g. rings", width=180
        )
        self._note = pn.widgets.TextAreaInput(
            label="Note", height=60, width=260, placeholder="what these sources are"
        )
        self._save = pn.widgets.Button(
            label="Save selection as cluster", color="primary", width=200
        )
        self._save.on_click(self._on_save)
        self._table = pn.pane.HTML(
            "", sizing_mode="stretch_width", css_classes=["cluster-list"]
        )
        self._choice = pn.widgets.Select(label="Cluster", options=[], width=180)
        self._show = pn.widgets.Toggle(label="Show on map", width=110)
        self._select = pn.widgets.Button(label="Select members", width=120)
        self._new_name = pn.widgets.TextInput(label="New name", width=140)
        self._rename = pn.widgets.Button(label="Rename", width=80)
        self._delete = pn.widgets.Button(label="Delete", color="danger", width=80)
        self._reapply = pn.widgets.Button(
            label="Re-apply to current version", width=200, disabled=True
        )
        self._reapply_select = pn.widgets.Button(
            label="Select the result", width=140, disabled=True
        )
        self._report = pn.pane.HTML("", css_classes=["cluster-reapply"])
        self._reapplied = None  # the latest ReapplyReport
        self._format = pn.widgets.Select(
            label="Format", options=list(EXPORT_SUFFIX), width=100
        )
        self._download = pn.widgets.FileDownload(
            callback=self._export,
            filename="cluster.csv",
            label="Export",
            color="success",
            width=120,
            embed=False,
        )
        self._show.param.watch(self._on_show, "value")
        self._choice.param.watch(self._on_choice, "value")
        self._format.param.watch(lambda *_: self._update_filename(), "value")
        self._select.on_click(self._on_select)
        self._rename.on_click(self._on_rename)
        self._delete.on_click(self._on_delete)
        self._reapply.on_click(lambda _: self.reapply())
        self._reapply_select.on_click(lambda _: self._on_select_reapplied())
        self._actions = [
            self._save, self._choice, self._show, self._select, self._rename,
            self._delete, self._download, self._reapply,
        ]  # fmt: skip
        self._refresh_when_shown = WhenShown(state, "Clusters", self._refresh)
        if broken is not None:
            self._mark_unavailable(broken)
        else:
            self._refresh_when_shown()
        # other sessions (and the CLI) write the same database: the server's
        # store watch tells us when its revision counter moved
        try:
            self._revision = -1 if broken else self._notes.revision()
        except LatentskyError as exc:
            self._revision = -1
            self._mark_unavailable(exc)
        subscribe_session(state.store.root, on_revision=self._on_revision)

    def _mark_unavailable(self, exc: Exception) -> None:
        """Show why saved clusters cannot be used and disable their actions."""
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if self.unavailable is None:
            log.warning("saved clusters unavailable: %s", reason)
        self.unavailable = reason
        self._table.object = (
            "<div class='clusters-unavailable' style='color:#f0a020'>"
            f"saved clusters unavailable: {html.escape(reason)}</div>"
        )
        for widget in self._actions:
            widget.disabled = True

    def _on_revision(self, revision: int) -> None:
        if revision != self._revision:
            self._revision = revision
            self.state.param.trigger("clusters_changed")

    # -------------------------------------------------------------- actions
    def _on_save(self, _) -> None:
        name = self._name.value.strip()
        if save_selection(self.state, self._notes, name, self._note.value):
            self._name.value = ""
            self._note.value = ""
            self._choice.value = name

    def _on_choice(self, *_) -> None:
        self._update_filename()
        self._update_reapply()
        if self._show.value:
            self.state.shown_cluster = self._choice.value

    def _on_show(self, event) -> None:
        self.state.shown_cluster = self._choice.value if event.new else None

    def _on_select(self, _) -> None:
        name = self._choice.value
        if name:
            try:
                self.state.select_ids(self._notes.members(name))
            except Exception as exc:
                self.state.notify("error", f"Cannot select cluster {name!r}: {exc}")

    @param.depends("state.version", watch=True)
    def _update_reapply(self) -> None:
        """Offer re-applying when the chosen cluster was saved on another version."""
        self._reapplied = None
        self._reapply_select.disabled = True
        self._report.object = ""
        name = self._choice.value
        saved_on = None
        if name and self._notes is not None:
            try:
                saved_on = self._notes.cluster_provenance(name).version
            except LatentskyError as exc:
                log.warning("no provenance for cluster %r: %s", name, exc)
        self._reapply.disabled = not saved_on or saved_on == self.state.version

    def reapply(self) -> None:
        """Re-make the chosen cluster on the current version; show the report."""
        name, state = self._choice.value, self.state
        try:
            report = reapply_on_version(state.store, self._notes, name, state.version)
        except Exception as exc:
            state.notify("error", f"Cannot re-apply {name!r}: {exc}")
            return
        self._reapplied = report
        self._reapply_select.disabled = len(report.members) == 0
        counts = report.summary()
        self._report.object = (
            f"<small>{html.escape(name)} on {html.escape(str(state.version))}: "
            f"{counts['n_after']:,} members · {counts['stayed']:,} stayed · "
            f"{counts['joined']:,} joined · {counts['left']:,} left · "
            f"{counts['missing']:,} missing · Jaccard {counts['jaccard']:.2f}</small>"
        )

    def _on_select_reapplied(self) -> None:
        if self._reapplied is not None:
            self.state.select_ids(self._reapplied.members)

    def _on_rename(self, _) -> None:
        old, new = self._choice.value, self._new_name.value.strip()
        if not old or not new:
            self.state.notify("warning", "Choose a cluster and type its new name.")
            return
        try:
            self._notes.rename(old, new)
        except Exception as exc:
            self.state.notify("error", f"Cannot rename {old!r}: {exc}")
            return
        self._new_name.value = ""
        if self.state.shown_cluster == old:
            self.state.shown_cluster = new
        self.state.param.trigger("clusters_changed")
        self._choice.value = new

    def _on_delete(self, _) -> None:
        name = self._choice.value
        if not name:
            return
        try:
            self._notes.delete(name)
        except Exception as exc:
            self.state.notify("error", f"Cannot delete {name!r}: {exc}")
            return
        if self.state.shown_cluster == name:
            self.state.shown_cluster = None
        self.state.param.trigger("clusters_changed")

    def _update_filename(self) -> None:
        name = self._choice.value or "cluster"
        safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in name)
        self._download.filename = f"{safe}{EXPORT_SUFFIX[self._format.value]}"

    def _export(self):
        name = self._choice.value
        if not name:
            self.state.notify("warning", "Choose a cluster to export.")
            return None
        try:
            data = self.export(name, self._format.value)
        except Exception as exc:
            self.state.notify("error", f"Export of {name!r} failed: {exc}")
            return None
        return io.BytesIO(data)

    def export(self, name: str, fmt: str) -> bytes:
        """The file of saved cluster ``name`` in format ``fmt``, as the download
        button sends it (columns of the session's version).

        Parameters
        ----------
        name : str
            A saved cluster.
        fmt : {"csv", "fits", "votable"}
            Format.

        Returns
        -------
        bytes
        """
        return export_bytes(
            self.state.store,
            None,
            fmt,
            self.state.version,
            cluster=name,
            annotations=self._notes,
        )

    # -------------------------------------------------------------- listing
    @param.depends("state.clusters_changed", watch=True)
    def _on_clusters_changed(self) -> None:
        self._refresh_when_shown()

    def _refresh(self) -> None:
        if self._notes is None:
            return
        try:
            frame = self._notes.clusters()
        except LatentskyError as exc:
            self._mark_unavailable(exc)
            return
        if self.unavailable is not None:  # the database was repaired
            self.unavailable = None
            for widget in self._actions:
                widget.disabled = False
        names = frame["name"].tolist()
        current = self._choice.value
        self._choice.options = names
        if current in names:
            self._choice.value = current
        elif names:
            self._choice.value = names[-1]
        if frame.empty:
            self._table.object = "<i>No saved clusters yet.</i>"
        else:
            body = "".join(
                f"<tr><td class='cluster-name'>{r.name}</td><td>{r.n_members:,}</td>"
                f"<td>{r.note or ''}</td><td>{r.version or ''}</td></tr>"
                for r in frame.itertuples()
            )
            self._table.object = (
                "<table style='font-size:12px;width:100%'><tr><th>name</th><th>n</th>"
                f"<th>note</th><th>version</th></tr>{body}</table>"
            )
        self._update_filename()

    def __panel__(self):
        return pn.Column(
            pn.pane.HTML("<b>Save the current selection</b>"),
            pn.Row(self._name, self._save),
            self._note,
            pn.layout.Divider(),
            self._table,
            pn.Row(self._choice, self._show, self._select),
            pn.Row(self._new_name, self._rename, self._delete),
            pn.Row(self._format, self._download),
            pn.Row(self._reapply, self._reapply_select),
            self._report,
            name="Clusters",
            sizing_mode="stretch_width",
        )
