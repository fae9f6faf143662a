"""The store's job lock: one job per store, stale locks recovered.

The lock (``store/jobs/lock``) is created with ``O_EXCL``. A lock whose
process is gone (PID not alive, or reused by another program, or a remote
job whose heartbeat stopped) is stale: its job is marked failed (or
cancelled) and its half-built version removed, then the lock is taken again.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import logging
import os
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from explorer.errors import StoreError
from explorer.jobs.protocol import (
    CANCEL,
    LOG,
    PROGRESS,
    TERMINAL,
    cleanup_partial_version,
    now,
    pid_alive,
    process_start_ticks,
    read_job,
    read_json,
    read_lock,
    write_progress,
)
from explorer.store.layout import JOBS, LOCK

log = logging.getLogger(__name__)

#: A remote job whose progress file is older than this is presumed dead.
HEARTBEAT_STALE_S = 120.0
#: A lock file younger than this with no content is being written right now.
WRITING_S = 5.0

Alive = Callable[[int, int | None], bool]


def lock_alive(
    store_root: Path, lock: dict[str, Any], alive: Alive = pid_alive
) -> bool:
    """Whether the job holding ``lock`` still runs.

    A job on this host is alive while its process is; a remote one (or one
    not yet launched) while its heartbeat in ``progress.json`` is fresh.
    """
    if lock.get("host") == socket.gethostname() and lock.get("pid"):
        return alive(int(lock["pid"]), lock.get("start_ticks"))
    if lock.get("pid") is None and lock.get("launcher_pid"):
        # Between lock creation and launch: alive while the launcher is.
        if not alive(int(lock["launcher_pid"]), lock.get("launcher_ticks")):
            return False
    job_dir = Path(store_root) / JOBS / str(lock.get("job_id"))
    progress = read_json(job_dir / PROGRESS) or {}
    if progress.get("phase") in TERMINAL:
        return False
    stamp = progress.get("updated") or lock.get("created")
    try:
        age = (
            _dt.datetime.now(_dt.UTC) - _dt.datetime.fromisoformat(stamp)
        ).total_seconds()
    except (TypeError, ValueError):
        return False
    return age < HEARTBEAT_STALE_S


def finalise_dead(
    store_root: Path, directory: Path, returncode: int | None = None
) -> None:
    """Mark a job that ended without reporting; remove its partial version."""
    info = read_job(directory)
    if info is None:
        return
    if not info.finished:
        cancelled = (directory / CANCEL).exists()
        if cancelled:
            message = "cancelled (the job process was stopped)"
        else:
            code = f" with exit status {returncode}" if returncode is not None else ""
            message = (
                f"the job process ended{code} without finishing "
                f"(killed? see {directory / LOG})"
            )
        phase = "cancelled" if cancelled else "failed"
        write_progress(directory, phase=phase, message=message, eta_s=None)
    if info.phase != "done":
        cleanup_partial_version(store_root, info.version)


def recover_lock(store_root: Path, lock: dict[str, Any] | None) -> None:
    """Clear a stale lock: mark its job ended, remove its partial version."""
    job_id = lock.get("job_id") if lock else None
    if job_id:
        finalise_dead(store_root, Path(store_root) / JOBS / str(job_id))
    with contextlib.suppress(FileNotFoundError):
        (Path(store_root) / JOBS / LOCK).unlink()
    log.warning("recovered stale job lock of job %s on %s", job_id, store_root)


def _create(path: Path, job_id: str) -> bool:
    """Create the lock for ``job_id``; False if it exists already."""
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w") as fh:
        json.dump(
            {
                "job_id": job_id,
                "pid": None,
                "launcher_pid": os.getpid(),
                "launcher_ticks": process_start_ticks(os.getpid()),
                "host": socket.gethostname(),
                "created": now(),
            },
            fh,
        )
    return True


def acquire_lock(store_root: Path, job_id: str, alive: Alive = pid_alive) -> None:
    """Take the store's job lock for ``job_id``, recovering a stale one.

    Raises
    ------
    StoreError
        If a live job holds it (the message describes that job).
    """
    store_root = Path(store_root)
    path = store_root / JOBS / LOCK
    path.parent.mkdir(parents=True, exist_ok=True)
    for _ in range(2):
        if _create(path, job_id):
            return
        lock = read_lock(store_root)
        if lock is None:
            # Being written right now by another starter (or empty from a
            # crash between create and write): told apart by age.
            if time.time() - path.stat().st_mtime < WRITING_S:
                msg = f"another job is being started on store {store_root}"
                raise StoreError(msg)
            recover_lock(store_root, None)
            continue
        if lock_alive(store_root, lock, alive):
            info = read_job(store_root / JOBS / str(lock.get("job_id")))
            what = info.describe() if info else f"job {lock.get('job_id')}"
            msg = (
                f"a job is already running on store {store_root}: {what}; "
                "wait for it or cancel it"
            )
            raise StoreError(msg)
        recover_lock(store_root, lock)
    msg = f"could not take the job lock {path}"
    raise StoreError(msg)
