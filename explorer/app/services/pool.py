"""The server's one thread pool for session work too slow for the event loop.

Selection metrics, colour fields that read SQLite or diff two versions, and
the embedding of uploads all run in :func:`executor`; :func:`run_off_loop`
hands a result back to the session's own event loop (the only thread that
may touch its Bokeh models), and keeps the session's busy spinner
(:mod:`~explorer.app.services.busy`) spinning meanwhile.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial
from typing import TypeVar

from explorer.app.services.busy import SessionBusy, tracker_of
from explorer.app.services.watch import _deliver

log = logging.getLogger(__name__)

#: threads of the pool (the old metrics pool had 2, the upload pool 1)
WORKERS = 3

T = TypeVar("T")

#: threads of the pool for deferrable number crunching (selection metrics)
METRICS_WORKERS = 1

_POOL: ThreadPoolExecutor | None = None
_METRICS_POOL: ThreadPoolExecutor | None = None
_HOVER_POOL: ThreadPoolExecutor | None = None
_POOL_LOCK = threading.Lock()


def _forget_pools() -> None:
    """In a forked serving process: its parent's threads do not exist here
    (:mod:`explorer.app.processes`); the pools start again on first use."""
    global _POOL, _METRICS_POOL, _HOVER_POOL, _POOL_LOCK
    _POOL = _METRICS_POOL = _HOVER_POOL = None
    _POOL_LOCK = threading.Lock()


os.register_at_fork(after_in_child=_forget_pools)


def executor() -> ThreadPoolExecutor:
    """The server's one pool of :data:`WORKERS` threads for slow session work.

    Selection metrics, colour fields that read SQLite or diff two versions,
    and the embedding of uploads run here, so the event loop keeps serving
    hover and zoom meanwhile.
    """
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="app")
        return _POOL


def metrics_executor() -> ThreadPoolExecutor:
    """The server's pool of :data:`METRICS_WORKERS` thread(s) for selection metrics.

    Metrics are hundreds of milliseconds of mostly-Python numerics per
    selection; with 20 users selecting, three of them at once held the GIL
    against the event loop that serves every hover. One thread keeps the loop
    at least half of the interpreter; a metrics result then waits in line (its
    panel shows a spinner), and a selection replaced before its metrics start
    is never computed (:class:`explorer.app.views.metrics.MetricsView`).
    """
    global _METRICS_POOL
    with _POOL_LOCK:
        if _METRICS_POOL is None:
            _METRICS_POOL = ThreadPoolExecutor(
                max_workers=METRICS_WORKERS, thread_name_prefix="app-metrics"
            )
        return _METRICS_POOL


def hover_executor() -> ThreadPoolExecutor:
    """The server's one thread for the hovered source's cutout.

    A cold cutout read waits ~10-25 ms on the disk; on the event loop that
    wait stalled every session's hover behind it. In its own thread a hover
    never queues behind a page of grid tiles either.
    """
    global _HOVER_POOL
    with _POOL_LOCK:
        if _HOVER_POOL is None:
            _HOVER_POOL = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hover")
        return _HOVER_POOL


def in_session(doc) -> bool:
    """Whether ``doc`` is the document of a served browser session."""
    return doc is not None and doc.session_context is not None


def _ignore(value) -> None:
    """The callback of cancelled work: nothing to deliver."""


def _then_idle(busy: SessionBusy, callback: Callable, value) -> None:
    """Deliver ``value``, then count the work as done (even if it raised)."""
    try:
        callback(value)
    finally:
        busy.end()


def run_off_loop(
    doc,
    work: Callable[[], T],
    done: Callable[[T], None],
    failed: Callable[[Exception], None],
    pool: ThreadPoolExecutor | None = None,
    spinner: bool = True,
) -> Future | None:
    """Run ``work()`` in :func:`executor`, then ``done(result)`` on ``doc``'s loop.

    Parameters
    ----------
    doc : bokeh.document.Document or None
        The session's document. Outside a served session (None, or a document
        without a session: tests, notebooks) everything runs inline, so the
        caller sees the result at once.
    work : callable
        The slow part; must not touch Panel or Bokeh objects.
    done : callable
        Receives the result, on the session's event loop.
    failed : callable
        Receives the exception ``work`` raised, on the session's event loop.
    pool : ThreadPoolExecutor, optional
        Where to run ``work`` (default :func:`executor`; selection metrics use
        :func:`metrics_executor`).
    spinner : bool
        Whether the session's busy spinner spins meanwhile (not for work of a
        few milliseconds done on every mouse move: it would flicker).

    Returns
    -------
    concurrent.futures.Future or None
        The running work (None when it ran inline).
    """
    if not in_session(doc):
        try:
            result = work()
        except Exception as exc:  # noqa: BLE001 - handed to the caller
            failed(exc)
            return None
        done(result)
        return None

    busy = tracker_of(doc) if spinner else None

    def finished(future: Future) -> None:
        if future.cancelled():
            if busy is None:
                return
            callback, value = _ignore, None
        else:
            exc = future.exception()
            callback, value = (
                (failed, exc) if exc is not None else (done, future.result())
            )
        if busy is not None:
            callback = partial(_then_idle, busy, callback)
        try:
            doc.add_next_tick_callback(partial(_deliver, doc, callback, value))
        except Exception:  # noqa: BLE001 - the session went away meanwhile
            log.debug("could not deliver to a closed session", exc_info=True)

    if busy is not None:
        busy.begin()
    future = (pool or executor()).submit(work)
    future.add_done_callback(finished)
    return future
