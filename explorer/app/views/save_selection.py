"""Saving the current selection as a named cluster, from wherever it is seen.

The Clusters tab lists, renames and exports clusters; the Selection tab, where
the selection is looked at, saves it in one step (:class:`QuickSave`), so a
user never has to switch tabs (and the server never has to rebuild a tab) to
keep what they just selected. Both go through :func:`save_selection`.
"""

from __future__ import annotations

import html

import panel as pn

from explorer.app.state import AppState
from explorer.app.views.cluster_provenance import selection_provenance


def save_selection(
    state: AppState, notes, name: str, note: str = "", *, announce: bool = True
) -> bool:
    """Save ``state``'s selection as cluster ``name``; say what happened.

    Parameters
    ----------
    state : AppState
        The session (its selection, version and notifications).
    notes : explorer.store.annotations.Annotations or None
        The store's annotation database (None: it is unavailable).
    name : str
        The cluster's name (stripped; must not be empty).
    note : str
        A free-text note stored with it.
    announce : bool
        Also say so in a notification (the caller may show it itself).

    Returns
    -------
    bool
        Whether the cluster was saved (else the user was told why not).
    """
    name = name.strip()
    if notes is None:
        state.notify("error", "The annotation database is unavailable: not saved.")
        return False
    if not name:
        state.notify("warning", "Type a cluster name before saving.")
        return False
    if len(state.selection_ids) == 0:
        state.notify("warning", "Select sources on the map (box or lasso) first.")
        return False
    try:
        notes.save_cluster(
            name,
            state.selection_ids,
            note=note,
            version=state.version,
            provenance=selection_provenance(state),
        )
    except Exception as exc:  # noqa: BLE001 - shown to the user
        state.notify("error", f"Cannot save cluster {name!r}: {exc}")
        return False
    if announce:
        n = len(state.selection_ids)
        state.notify("info", f"Saved cluster {name!r} with {n:,} sources.")
    state.param.trigger("clusters_changed")
    return True


class QuickSave(pn.viewable.Viewer):
    """A name field and a button that save the selection (Selection tab).

    Parameters
    ----------
    state : AppState
        The session.
    notes : Annotations or None
        The store's annotation database.
    """

    def __init__(self, state: AppState, notes, **params) -> None:
        super().__init__(**params)
        self.state = state
        self._notes = notes
        self._name = pn.widgets.TextInput(
            placeholder="name this selection", width=170, css_classes=["quick-name"]
        )
        self._save = pn.widgets.Button(
            label="Save as cluster",
            width=120,
            disabled=notes is None,
            css_classes=["quick-save"],
        )
        self._saved = pn.pane.HTML("", css_classes=["quick-saved"], width=250)
        self._save.on_click(self._on_save)

    def _on_save(self, _=None) -> None:
        name = self._name.value_input or self._name.value
        # the line under the button says it: no notification to every corner
        if save_selection(self.state, self._notes, name, announce=False):
            n = len(self.state.selection_ids)
            self._saved.object = (
                f"saved <b class='saved-name'>{html.escape(name.strip())}</b> "
                f"({n:,} sources)"
            )
            self._name.value = ""

    def __panel__(self):
        return pn.Column(pn.Row(self._name, self._save), self._saved, margin=0)


__all__ = ["QuickSave", "save_selection"]
