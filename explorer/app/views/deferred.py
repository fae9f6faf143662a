"""Work of a hidden tab, deferred until the tab is shown.

Every session has the same side tabs, but each user looks at one. A change
made in one session (a cluster saved, a source tagged) reaches all of them
through the store watch; redrawing the Anomalies gallery or the Clusters table
of every session on every save made the server's work grow with the square of
the number of users. A view wraps its redraw in :class:`WhenShown`: called
while the tab is hidden it only remembers that it is stale, and it runs once
when the tab is shown again.
"""

from __future__ import annotations

from collections.abc import Callable

from explorer.app.state import AppState


class WhenShown:
    """Run ``redraw`` now if ``tab`` is on screen, else when it is next shown.

    Parameters
    ----------
    state : AppState
        The session's state (its ``shown_tab`` says what is on screen).
    tab : str
        The tab's name, as in the page's ``pn.Tabs``.
    redraw : callable
        The view's redraw (no arguments).

    Attributes
    ----------
    stale : bool
        A redraw was skipped while the tab was hidden.
    skipped : int
        Redraws skipped so far (for tests and benches).
    """

    def __init__(self, state: AppState, tab: str, redraw: Callable[[], None]) -> None:
        self.state = state
        self.tab = tab
        self._redraw = redraw
        self.stale = False
        self.skipped = 0
        state.param.watch(self._on_tab, "shown_tab")

    def __call__(self) -> None:
        """Redraw, or mark stale while the tab is hidden."""
        if self.state.on_screen(self.tab):
            self.stale = False
            self._redraw()
        else:
            self.stale = True
            self.skipped += 1

    def _on_tab(self, event) -> None:
        if self.stale and self.state.on_screen(self.tab):
            self.stale = False
            self._redraw()


__all__ = ["WhenShown"]
