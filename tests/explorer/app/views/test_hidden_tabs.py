"""Hidden tabs do no work until shown; the selection is saved from its own tab;
each session's busy spinner follows only that session's work."""

from __future__ import annotations

import numpy as np
import pytest

from explorer.app.services.busy import SessionBusy
from explorer.app.state import AppState
from explorer.app.views.anomalies import AnomalyView
from explorer.app.views.clusters import ClustersView
from explorer.app.views.deferred import WhenShown
from explorer.app.views.grid import GridView
from explorer.app.views.save_selection import save_selection
from explorer.store import Store
from explorer.store.annotations import Annotations


@pytest.fixture
def state(analysed_store_copy):
    return AppState(Store.open(analysed_store_copy))


def test_on_screen_outside_a_page_and_in_one(state):
    assert state.shown_tab is None
    assert state.on_screen("Anomalies") and state.on_screen("Clusters")
    state.shown_tab = "Selection"
    assert state.on_screen("Selection") and not state.on_screen("Anomalies")


def test_a_hidden_redraw_runs_once_when_its_tab_is_shown(state):
    calls = []
    redraw = WhenShown(state, "Anomalies", lambda: calls.append(state.shown_tab))
    state.shown_tab = "Selection"
    redraw()
    redraw()
    assert calls == [] and redraw.stale and redraw.skipped == 2
    state.shown_tab = "Clusters"  # another hidden tab: still nothing
    assert calls == []
    state.shown_tab = "Anomalies"
    assert calls == ["Anomalies"] and not redraw.stale
    state.shown_tab = "Selection"
    state.shown_tab = "Anomalies"  # nothing was skipped meanwhile
    assert calls == ["Anomalies"]
    redraw()  # on screen: at once
    assert calls == ["Anomalies", "Anomalies"]


def test_a_save_elsewhere_redraws_hidden_galleries_only_when_shown(state):
    state.shown_tab = "Selection"
    anomalies, clusters = AnomalyView(state), ClustersView(state)
    assert anomalies._gallery.items == []  # never drawn while hidden
    state.select_box((-1e9, -1e9, 1e9, 1e9))
    assert save_selection(state, Annotations.of_store(state.store), "everything")
    assert anomalies._render_when_shown.stale
    assert "everything" not in clusters._table.object
    state.shown_tab = "Clusters"
    assert "everything" in clusters._table.object
    assert anomalies._gallery.items == []
    state.shown_tab = "Anomalies"
    assert len(anomalies._gallery.items) > 0


def test_quick_save_from_the_selection_tab(state):
    grid = GridView(state)
    notes = Annotations.of_store(state.store)
    quick = grid.quick_save
    quick._on_save()  # no name, no selection: told, nothing stored
    assert state.notification["level"] == "warning"
    quick._name.value = "  bright ones "
    quick._on_save()
    assert "Select sources" in state.notification["text"]
    assert "bright ones" not in notes.names()
    state.select_box((-1e9, -1e9, 1e9, 1e9))
    quick._on_save()
    assert "bright ones" in notes.names()
    members = np.sort(notes.members("bright ones"))
    assert np.array_equal(members, np.sort(state.selection_ids))
    assert "bright ones" in quick._saved.object
    assert f"({len(members):,} sources)" in quick._saved.object
    assert quick._name.value == ""  # ready for the next one


def test_save_without_a_database_says_so(state):
    state.select_box((-1e9, -1e9, 1e9, 1e9))
    assert not save_selection(state, None, "x")
    assert state.notification["level"] == "error"
    assert "unavailable" in state.notification["text"]


def test_session_busy_spins_while_its_work_is_pending():
    busy = SessionBusy()
    assert not busy.indicator.value
    busy.begin()
    busy.begin()
    busy.end()
    assert busy.indicator.value and busy.pending == 1
    busy.end()
    busy.end()  # never below zero
    assert not busy.indicator.value and busy.pending == 0
