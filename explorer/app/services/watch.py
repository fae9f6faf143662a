"""The server-wide store watch: job progress and annotation changes.

A session must never own a timer: a served page can be closed at any moment,
and work scheduled per session outlives it unless it is released. The
services here are created once per server (per store) and sessions only
*subscribe* to them; a subscription is dropped when its session is destroyed
(``pn.state.on_session_destroyed``).

:class:`StoreWatch` polls what other processes change in a store (the
background job's progress, the annotation database) once for the whole server
and fans each change out to the subscribed sessions on their own documents.
Its thread runs only while at least one session is subscribed, so an idle
server with no page open does no work at all, and it never touches Panel's
global busy state (a ``pn.state.add_periodic_callback`` per session did both:
it flipped the busy indicator of every open page on every tick).
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from explorer.store.location import is_remote, local_annotations, store_path

log = logging.getLogger(__name__)

#: seconds between two looks at the store's job and annotations
POLL_S = 0.7


@dataclass(frozen=True)
class JobSnapshot:
    """What the job poller saw: the latest job (or None) or why it failed.

    Attributes
    ----------
    info : explorer.jobs.JobInfo or None
        The store's latest job, reconciled with reality.
    log_tail : str
        The last lines of its log.
    error : str or None
        Why the job status could not be read (a corrupt job directory).
    """

    info: Any = None
    log_tail: str = ""
    error: str | None = None

    @property
    def signature(self) -> tuple:
        """Changes whenever anything shown about the job changes."""
        info = self.info
        if info is None:
            return (None, self.error)
        return (info.job_id, info.phase, info.describe(), self.log_tail, self.error)


@dataclass
class _Subscriber:
    doc: Any
    on_job: Callable[[JobSnapshot], None] | None
    on_revision: Callable[[int], None] | None


def _deliver(doc, callback: Callable, value) -> None:
    """Run ``callback(value)`` on the event loop of ``doc``'s session."""
    from panel.io.state import set_curdoc

    with set_curdoc(doc):
        callback(value)


class StoreWatch:
    """Polls one store for job progress and annotation changes, once per server.

    Parameters
    ----------
    root : path
        The store directory.
    interval_s : float
        Seconds between two polls.
    """

    def __init__(self, root: str | Path, interval_s: float = POLL_S) -> None:
        self.root = store_path(root)  # a UPath for a store opened from a URL
        self.interval_s = float(interval_s)
        self._subscribers: dict[int, _Subscriber] = {}
        self._tokens = itertools.count(1)
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._job: JobSnapshot | None = None
        self._job_running = True  # look at least once
        self._revision: int | None = None
        self._db_stamp: tuple | None = None
        # explorer.store.annotations.Annotations, opened on first use
        self._notes = None
        self.polls = 0

    # --------------------------------------------------------- subscribing
    def subscribe(
        self,
        doc,
        *,
        on_job: Callable[[JobSnapshot], None] | None = None,
        on_revision: Callable[[int], None] | None = None,
    ) -> int:
        """Call ``on_job`` / ``on_revision`` on ``doc`` whenever they change.

        Parameters
        ----------
        doc : bokeh.document.Document
            The session's document; callbacks are scheduled on it with
            ``add_next_tick_callback`` (bokeh's thread-safe entry point).
        on_job, on_revision : callable, optional
            Receive a :class:`JobSnapshot` / the annotation revision counter.
            Each is called once soon after subscribing with the current value.

        Returns
        -------
        int
            A token for :meth:`unsubscribe`.
        """
        with self._lock:
            token = next(self._tokens)
            subscriber = _Subscriber(doc, on_job, on_revision)
            self._subscribers[token] = subscriber
            if self._job is not None and on_job is not None:
                self._send(subscriber, on_job, self._job)
            if self._revision is not None and on_revision is not None:
                self._send(subscriber, on_revision, self._revision)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="store-watch", daemon=True
                )
                self._thread.start()
            count = len(self._subscribers)
        log.info("store watch of %s: %d session(s) subscribed", self.root.name, count)
        self._wake.set()
        return token

    def unsubscribe(self, token: int) -> None:
        """Stop delivering to the subscription ``token`` (unknown tokens: no-op)."""
        with self._lock:
            if self._subscribers.pop(token, None) is None:
                return
            count = len(self._subscribers)
        log.info("store watch of %s: %d session(s) subscribed", self.root.name, count)
        self._wake.set()

    @property
    def n_subscribers(self) -> int:
        """Sessions currently subscribed."""
        with self._lock:
            return len(self._subscribers)

    @property
    def running(self) -> bool:
        """Whether the polling thread is alive."""
        thread = self._thread
        return thread is not None and thread.is_alive()

    # -------------------------------------------------------------- polling
    def _run(self) -> None:
        while True:
            with self._lock:
                if not self._subscribers:
                    self._thread = None
                    return
            try:
                self.poll()
            except Exception:  # noqa: BLE001 - the poller must outlive a bad read
                log.exception("store watch of %s failed", self.root)
            self._wake.wait(self.interval_s)
            self._wake.clear()

    def poll(self) -> None:
        """Look once and deliver what changed (also callable from tests)."""
        self.polls += 1
        job = self._poll_job()
        revision = self._poll_revision()
        with self._lock:
            subscribers = list(self._subscribers.values())
        for subscriber in subscribers:
            if job is not None and subscriber.on_job is not None:
                self._send(subscriber, subscriber.on_job, job)
            if revision is not None and subscriber.on_revision is not None:
                self._send(subscriber, subscriber.on_revision, revision)

    def _poll_job(self) -> JobSnapshot | None:
        """The job snapshot if it changed since the last poll, else None."""
        from explorer.jobs import JobRunner
        from explorer.store.layout import JOBS, LOCK

        if is_remote(self.root):
            return None  # jobs run on a local store only (lock, processes)
        # the idle case (every tick without a job) is one stat, no store open
        if not self._job_running and not (self.root / JOBS / LOCK).exists():
            return None  # nothing ran since the last look
        try:
            runner = JobRunner(self.root)
            info = runner.status()
            tail = runner.log_tail(info.job_id, 12) if info is not None else ""
            snapshot = JobSnapshot(info, tail)
        except Exception as exc:  # noqa: BLE001 - shown to the user
            snapshot = JobSnapshot(error=f"Cannot read the job status: {exc}")
        self._job_running = snapshot.info is not None and not snapshot.info.finished
        if self._job is not None and snapshot.signature == self._job.signature:
            return None
        self._job = snapshot
        return snapshot

    def _poll_revision(self) -> int | None:
        """The annotation revision if the database changed, else None."""
        from explorer.store import ANNOTATIONS
        from explorer.store.annotations import Annotations

        path = self.root / ANNOTATIONS
        if is_remote(self.root):  # SQLite works on a local copy (see Store)
            path = local_annotations(self.root)
        stamp = tuple(_stat(p) for p in (path, path.with_name(path.name + "-wal")))
        if stamp == self._db_stamp:
            return None
        self._db_stamp = stamp
        if stamp[0] is None:
            revision = 0
        else:
            try:
                if self._notes is None:
                    self._notes = Annotations(path)
                revision = self._notes.revision()
            except Exception:  # noqa: BLE001 - locked or replaced: next time
                self._db_stamp = self._notes = None
                return None
        if revision == self._revision:
            return None
        self._revision = revision
        return revision

    @staticmethod
    def _send(subscriber: _Subscriber, callback: Callable, value) -> None:
        try:
            subscriber.doc.add_next_tick_callback(
                partial(_deliver, subscriber.doc, callback, value)
            )
        except Exception:  # noqa: BLE001 - the session went away meanwhile
            log.debug("could not deliver to a closed session", exc_info=True)


def _stat(path: Path) -> tuple[int, int] | None:
    try:
        info = path.stat()
    except FileNotFoundError:
        return None
    return (info.st_mtime_ns, info.st_size)


_WATCHES: dict[Path, StoreWatch] = {}
_WATCHES_LOCK = threading.Lock()


def store_watch(root: str | Path) -> StoreWatch:
    """The one :class:`StoreWatch` of the store at ``root`` in this process."""
    key = store_path(root).resolve()
    with _WATCHES_LOCK:
        watch = _WATCHES.get(key)
        if watch is None:
            watch = _WATCHES[key] = StoreWatch(key)
        return watch


def subscribe_session(root: str | Path, **callbacks) -> int | None:
    """Subscribe the current served session to :func:`store_watch` of ``root``.

    The subscription is released when the session is destroyed. Outside a
    served session (tests, notebooks) nothing is subscribed and None returned.

    Parameters
    ----------
    root : path
        The store directory.
    **callbacks
        ``on_job`` and/or ``on_revision``, as in :meth:`StoreWatch.subscribe`.
    """
    import panel as pn

    doc = pn.state.curdoc
    if doc is None or doc.session_context is None:
        return None
    watch = store_watch(root)
    token = watch.subscribe(doc, **callbacks)
    pn.state.on_session_destroyed(lambda _context: watch.unsubscribe(token))
    return token
