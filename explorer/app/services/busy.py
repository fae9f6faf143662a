"""A busy spinner per session, driven only by that session's own work.

Panel's templates ship a busy indicator synced with the *global*
``pn.state.busy``: every event of every session (a hover, a key press) flips
it, and the flip is pushed to the indicator of every open page. With 20 pages
open that is 20 document updates per mouse move, on the one event loop that
also serves the hovers. The dashboard's template therefore has no global
indicator; instead each session gets a :class:`SessionBusy`, which spins while
work that *this* session started in the server's thread pool
(:func:`explorer.app.services.pool.run_off_loop`) is still running.
"""

from __future__ import annotations

import weakref

import panel as pn

#: the trackers of the open sessions, by document (gone with the document)
_TRACKERS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


class SessionBusy:
    """Counts one session's pending background work and shows a spinner.

    Attributes
    ----------
    indicator : panel.indicators.LoadingSpinner
        Spins while :attr:`pending` > 0.
    pending : int
        Work submitted and not yet delivered back to the session.
    """

    def __init__(self) -> None:
        self.pending = 0
        self.indicator = pn.indicators.LoadingSpinner(
            value=False,
            width=20,
            height=20,
            color="light",
            bgcolor="dark",
            css_classes=["session-busy"],
            margin=(12, 10),
        )

    def begin(self) -> None:
        """One more piece of work is running (call on the session's loop)."""
        self.pending += 1
        if self.pending == 1:
            self.indicator.value = True

    def end(self) -> None:
        """One piece of work was delivered (call on the session's loop)."""
        self.pending = max(0, self.pending - 1)
        if self.pending == 0:
            self.indicator.value = False


def attach(doc) -> SessionBusy | None:
    """The :class:`SessionBusy` of ``doc``, made on first use (None without a doc)."""
    if doc is None:
        return None
    tracker = _TRACKERS.get(doc)
    if tracker is None:
        tracker = _TRACKERS[doc] = SessionBusy()
    return tracker


def tracker_of(doc) -> SessionBusy | None:
    """The :class:`SessionBusy` attached to ``doc``, if the page shows one."""
    return None if doc is None else _TRACKERS.get(doc)


__all__ = ["SessionBusy", "attach", "tracker_of"]
