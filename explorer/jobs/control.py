"""Start, watch and cancel a store's background job (:class:`JobRunner`).

A job runs as ``python -m explorer.jobs.pipeline JOBDIR`` in its own process
group, started here as a local subprocess or, given a scheduler address, by a
``dask.distributed`` task that runs the same command on the worker machine
(:func:`explorer.jobs.process.run_job_process`); cancel is the same either way
(the ``cancel`` file, and SIGTERM to the process group when it runs on this
host). Only one job runs per store (:mod:`explorer.jobs.lock`); the new
version is published only when the job succeeds. Option validation lives in
:mod:`explorer.jobs.options`, apart from this process control.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import logging
import os
import secrets
import signal
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from explorer.errors import StoreError
from explorer.jobs import lock as job_lock
from explorer.jobs import process
from explorer.jobs.options import (
    cluster_members,
    label_feedback,
    normalise_options,
    version_checkpoint,
)
from explorer.jobs.protocol import (
    CANCEL,
    SPEC,
    JobInfo,
    list_jobs,
    log_tail,
    now,
    process_start_ticks,
    read_job,
    read_lock,
    release_lock,
    update_lock,
    write_progress,
)
from explorer.store import Store, atomic
from explorer.store.layout import JOBS, LOCK

log = logging.getLogger(__name__)


class JobRunner:
    """Start, watch and cancel the re-embedding job of one store.

    Parameters
    ----------
    store : Store or path-like
        The store (only its directory is used; the job opens it itself).

    Examples
    --------
    >>> runner = JobRunner(store)  # doctest: +SKIP
    >>> info = runner.start("embed", checkpoint="ckpt.pt")  # doctest: +SKIP
    >>> runner.status().describe()  # doctest: +SKIP
    'embed job 20261125-...: embed 42% 1,234 img/s ETA 12 s on cpu'
    """

    def __init__(self, store: Store | str | os.PathLike[str]) -> None:
        self.store = store if isinstance(store, Store) else Store.open(store)
        # Absolute: the job process runs in its own directory.
        self.root = self.store.root.resolve()
        self.jobs_dir = self.root / JOBS
        self.lock_path = self.jobs_dir / LOCK

    # ---------------------------------------------------------------- lock
    def _read_lock(self) -> dict[str, Any] | None:
        return read_lock(self.root)

    def _finalise_dead(self, directory: Path, returncode: int | None = None) -> None:
        job_lock.finalise_dead(self.root, directory, returncode)

    # --------------------------------------------------------------- start
    def start(
        self, kind: str, *, scheduler: str | None = None, **options: Any
    ) -> JobInfo:
        """Start a job in the background.

        Parameters
        ----------
        kind : {"embed", "finetune"}
            ``"embed"``: embed the store with ``checkpoint`` into a new
            version. ``"finetune"``: fine-tune ``checkpoint`` for ``epochs``
            epochs (with saved ``clusters`` as extra positive pairs), then
            embed with the result.
        scheduler : str, optional
            ``dask.distributed`` scheduler address; default a local subprocess.
        **options
            ``checkpoint`` (path; default the current version's),
            ``epochs`` (int), ``clusters`` (list of cluster names, or True
            for all), ``device`` ("auto", "cpu", "cuda"), ``version`` (name of
            the new version; default ``v<n>``), ``batch_size``,
            ``num_workers``, ``cluster_weight``, ``use_labels`` (Similar-tab
            marks and interesting / artefact tags as extra pairs),
            ``label_weight``, ``lr``, ``make_current``.

        Returns
        -------
        JobInfo
            The queued job.

        Raises
        ------
        StoreError
            If a job is already running on the store (message names it), or
            the version exists.
        DataError
            If an option is invalid or the checkpoint does not exist.
        """
        opts = normalise_options(self.store, kind, options)
        job_id = _dt.datetime.now(_dt.UTC).strftime(
            "%Y%m%d-%H%M%S-"
        ) + secrets.token_hex(3)
        job_lock.acquire_lock(self.root, job_id, process.alive)
        directory = self.jobs_dir / job_id
        try:
            self._write_spec(directory, kind, opts, scheduler)
            if scheduler:
                self._submit_dask(scheduler, directory)
            else:
                self._spawn(directory)
        except BaseException as exc:
            if directory.exists():
                write_progress(
                    directory, phase="failed", message=f"could not start: {exc}"
                )
            release_lock(self.root, job_id)
            raise
        log.info("started %s job %s on %s", kind, job_id, self.root)
        return read_job(directory)

    def _write_spec(
        self,
        directory: Path,
        kind: str,
        opts: dict[str, Any],
        scheduler: str | None,
    ) -> None:
        """Create the job directory with its spec and a queued progress."""
        directory.mkdir(parents=True)
        spec = {
            "job_id": directory.name,
            "kind": kind,
            "store": str(self.root),
            "options": opts,
            "created": now(),
            "scheduler": scheduler,
            # The worker reads no annotations: members are fixed at the start.
            "cluster_members": cluster_members(self.store, opts.get("clusters", [])),
            "label_feedback": label_feedback(self.store)
            if opts.get("use_labels")
            else None,
        }
        atomic.write_json(directory / SPEC, spec)
        write_progress(
            directory, phase="queued", percent=0.0, message="waiting to start"
        )

    def _spawn(self, directory: Path) -> None:
        proc = process.start_pipeline(directory)
        process.CHILDREN[proc.pid] = proc
        process.JOB_PROCESSES[directory.name] = proc
        # progress.json is the job's to write from now on (it records its pid).
        update_lock(self.root, pid=proc.pid, start_ticks=process_start_ticks(proc.pid))

    def _submit_dask(self, address: str, directory: Path) -> None:
        try:
            from dask.distributed import Client, fire_and_forget
        except ImportError as exc:
            msg = (
                "running jobs on a dask scheduler needs dask.distributed "
                "(pip install 'dask[distributed]'); leave the scheduler out to run "
                "the job as a local process"
            )
            raise StoreError(msg) from exc
        try:
            client = Client(address, timeout="10s")
        except OSError as exc:
            msg = f"cannot reach the dask scheduler at {address}: {exc}"
            raise StoreError(msg) from exc
        # Written before submitting: once the worker runs, progress.json is its.
        update_lock(self.root, pid=None, launcher_pid=None, scheduler=address)
        write_progress(directory, message=f"submitted to dask scheduler {address}")
        try:
            future = client.submit(process.run_job_process, str(directory), pure=False)
            fire_and_forget(future)
        finally:
            client.close()

    # ------------------------------------------------------------- queries
    def checkpoints(self) -> list[dict[str, str]]:
        """Checkpoints a job can start from: those of existing versions.

        Returns
        -------
        list of dict
            ``{"version", "path"}`` for every version whose ``config.json``
            names a checkpoint file that still exists, newest version first.
        """
        self.store.reload()
        found = []
        for name in reversed(self.store.versions):
            path = version_checkpoint(self.store, name)
            if path is not None:
                found.append({"version": name, "path": str(path)})
        return found

    def jobs(self) -> list[JobInfo]:
        """All jobs of the store, newest first."""
        return list_jobs(self.root)

    def running(self) -> JobInfo | None:
        """The job holding the lock if it is alive (stale locks are recovered)."""
        lock = self._read_lock()
        if lock is None:
            return None
        job_id = str(lock.get("job_id"))
        if not job_lock.lock_alive(self.root, lock, process.alive):
            child = process.CHILDREN.get(lock.get("pid") or -1)
            code = child.poll() if child is not None else None
            if lock.get("job_id"):
                self._finalise_dead(self.jobs_dir / job_id, code)
            release_lock(self.root, job_id)
            return None
        return read_job(self.jobs_dir / job_id)

    def status(self, job_id: str | None = None) -> JobInfo | None:
        """The latest job (or ``job_id``), its progress reconciled with reality.

        A job whose process died without reporting is marked failed (or
        cancelled if a cancel was requested) and its partial version removed.
        """
        self.running()  # reconciles a dead lock holder
        if job_id is not None:
            info = read_job(self.jobs_dir / job_id)
            if info is None:
                msg = f"store {self.root} has no job {job_id!r}"
                raise StoreError(msg)
        else:
            listed = self.jobs()
            info = listed[0] if listed else None
        if info is not None and not info.finished:
            lock = self._read_lock()
            holder = lock.get("job_id") if lock else None
            if holder != info.job_id:
                # Not running and not finished: its process died.
                self._finalise_dead(info.directory)
                info = read_job(info.directory)
        return info

    def log_tail(self, job_id: str | None = None, lines: int = 40) -> str:
        """The last ``lines`` lines of a job's log (tqdm redraws collapsed)."""
        info = self.status(job_id)
        return "" if info is None else log_tail(info.directory, lines)

    # ----------------------------------------------------- cancel and wait
    def cancel(
        self,
        job_id: str | None = None,
        timeout: float = process.CANCEL_GRACE_S,
        *,
        wait: bool = True,
    ) -> JobInfo:
        """Stop the running job; the previous version stays current.

        Writes the job's ``cancel`` file and, when the job runs on this host,
        sends SIGTERM to its process group (the job marks itself cancelled
        and its unpublished version is discarded), then SIGKILL if it has not
        ended after ``timeout`` seconds. A job on another host sees the
        ``cancel`` file.

        Parameters
        ----------
        job_id : str, optional
            Only cancel if this is the running job.
        timeout : float
            Seconds between SIGTERM and SIGKILL.
        wait : bool
            Block until the job has ended (typically 1-2 s). With False the
            call returns at once (for a UI callback); a background thread
            still escalates to SIGKILL, and :meth:`status` shows
            ``cancelled`` once the process is gone.

        Raises
        ------
        StoreError
            If no job is running (or ``job_id`` is not the running one).
        """
        running = self.running()
        if running is None or (job_id is not None and running.job_id != job_id):
            what = f"job {job_id!r}" if job_id else "no job"
            msg = f"{what} is not running on store {self.root}; nothing to cancel"
            raise StoreError(msg)
        directory = running.directory
        atomic.write_bytes(directory / CANCEL, now().encode())
        lock = self._read_lock() or {}
        pid = lock.get("pid")
        pid = int(pid) if lock.get("host") == socket.gethostname() and pid else None
        ticks = lock.get("start_ticks")
        if pid is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGTERM)
        if not wait:
            if pid is not None:
                threading.Thread(
                    target=process.kill_after, args=(pid, ticks, timeout), daemon=True
                ).start()
            return read_job(directory) or running
        ended = process.wait_ended(running, pid, ticks, timeout)
        if not ended and pid is not None:
            process.kill_group(running.job_id, pid, ticks, timeout)
        if pid is not None or (read_job(directory) or running).finished:
            child = process.CHILDREN.get(pid) if pid else None
            self._finalise_dead(directory, child.poll() if child else None)
            release_lock(self.root, running.job_id)
        return read_job(directory)

    def wait(
        self,
        job_id: str | None = None,
        timeout: float | None = None,
        poll_s: float = 0.25,
        callback: Callable[[JobInfo], None] | None = None,
    ) -> JobInfo:
        """Block until the job finishes; ``callback(info)`` on every progress change.

        Raises
        ------
        TimeoutError
            If it is still running after ``timeout`` seconds.
        StoreError
            If there is no such job.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        last = None
        while True:
            info = self.status(job_id)
            if info is None:
                msg = f"store {self.root} has no job to wait for"
                raise StoreError(msg)
            job_id = info.job_id
            if callback is not None and info.updated != last:
                last = info.updated
                callback(info)
            if info.finished:
                process.reap(job_id)
                return info
            if deadline is not None and time.monotonic() > deadline:
                msg = f"job {job_id} still {info.phase} after {timeout} s"
                raise TimeoutError(msg)
            time.sleep(poll_s)


# ----------------------------------------------------------------- gateway
