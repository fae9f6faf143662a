"""One job, start to end: ``python -m explorer.jobs.pipeline JOBDIR``.

The orchestration process of a background job (started by
:class:`explorer.jobs.runner.JobRunner`, locally or in a dask task). It opens
the new version's build directory, runs the torch worker
(:func:`explorer.jobs.runner.worker_command`) as its child for fine-tuning
and embedding into that directory, then runs the analysis (map, index,
scores), publishes the version, caches the neighbourhood change against the
previous version and writes the terminal phase to ``progress.json``.

SIGTERM (the runner's cancel, sent to the whole process group) stops both
processes; the ``cancel`` file (a job on another host) is passed on to the
worker as SIGTERM. The unpublished version is discarded by
``Store.new_version``, the previous version stays current, ``progress.json``
says ``cancelled`` and the exit status is :data:`EXIT_CANCELLED`. A SIGKILL
leaves the lock and a temporary directory behind; the runner recovers both.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from explorer.errors import LatentskyError
from explorer.jobs.protocol import (
    EXIT_CANCELLED,
    EXIT_FAILED,
    LOG_FORMAT,
    PROGRESS,
    SPEC,
    TERMINAL,
    Heartbeat,
    JobCancelled,
    cleanup_partial_version,
    manifest_entry,
    process_start_ticks,
    read_json,
    read_lock,
    release_lock,
    update_lock,
    write_progress,
)
from explorer.store import Store
from explorer.store.layout import CONFIG

log = logging.getLogger("latentsky.job")

#: Seconds the worker gets to exit after SIGTERM before it is killed.
WORKER_GRACE_S = 15.0


class WorkerFailed(LatentskyError):
    """The torch worker ended with an error (its message is this one's)."""


class Job:
    """The state of the job being run: spec, store, progress, cancel."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        spec = read_json(self.directory / SPEC)
        if spec is None:
            msg = f"job directory {directory} has no readable spec"
            raise LatentskyError(msg)
        self.spec: dict[str, Any] = spec
        self.opts: dict[str, Any] = spec["options"]
        self.version: str = self.opts["version"]
        self.store = Store.open(spec["store"], check=True)
        self.previous = self.store.current_version
        if self.previous in self.store.damaged:
            self.previous = None
        self.heartbeat = Heartbeat(self.directory)
        self.signalled = False

    @property
    def cancelled(self) -> bool:
        """Whether a cancel was requested (SIGTERM or the ``cancel`` file)."""
        return (
            self.signalled
            or self.heartbeat.cancel_requested
            or self.heartbeat.cancel_file_exists()
        )

    def report(self, **fields: Any) -> None:
        """Write ``fields`` into ``progress.json``."""
        with self.heartbeat.lock:
            write_progress(self.directory, **fields)


def _wait_worker(job: Job, proc: subprocess.Popen) -> int:
    """Wait for the worker; pass a cancel on to it; returns its exit status."""
    told = False
    try:
        while True:
            try:
                return proc.wait(timeout=0.25)
            except subprocess.TimeoutExpired:
                if job.cancelled and not told:
                    proc.send_signal(signal.SIGTERM)  # a remote cancel (file)
                    told = True
    except BaseException:
        # Our own SIGTERM (the group's): the worker has it too. It must be
        # gone before its build directory is removed.
        try:
            proc.wait(timeout=WORKER_GRACE_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        raise


def _run_worker(job: Job, staging: Path) -> None:
    """Fine-tune and/or embed into ``staging`` in the torch worker process."""
    from explorer.jobs.runner import worker_command

    proc = subprocess.Popen(
        worker_command(job.directory, staging),
        stdin=subprocess.DEVNULL,
        cwd=str(job.directory),
    )
    code = _wait_worker(job, proc)
    if code == EXIT_CANCELLED or job.cancelled:
        raise JobCancelled
    if code != 0:
        progress = read_json(job.directory / PROGRESS) or {}
        msg = progress.get("error") or f"the worker exited with status {code}"
        raise WorkerFailed(msg)


def _diff(job: Job) -> None:
    """Cache the neighbourhood change against the previous version (for the map)."""
    from explorer.analysis.diff import neighbourhood_change

    job.report(
        phase="analyse",
        percent=90.0,
        message=f"neighbourhood change since {job.previous}",
    )
    try:
        change = neighbourhood_change(job.store, job.previous, job.version)
    except JobCancelled:
        raise
    except Exception as exc:  # noqa: BLE001 - a cache; the version is good without it
        log.warning("no version diff %s -> %s: %s", job.previous, job.version, exc)
        return
    log.info(
        "neighbourhood change %s -> %s: mean %.3f",
        job.previous,
        job.version,
        float(change.mean()),
    )


def _build_version(job: Job) -> None:
    """Worker, then analysis, inside the version's build directory; publish."""
    from explorer.analysis.pipeline import analyse_directory

    # Filled before the context exits: new_version writes it to the manifest
    # when it publishes, and the embedding dimension is known only then.
    entry: dict[str, Any] = {}
    make_current = bool(job.opts.get("make_current", True))
    with job.store.new_version(
        job.version, make_current=make_current, info=entry
    ) as staging:
        _run_worker(job, staging)
        entry.update(manifest_entry(read_json(staging / CONFIG) or {}))
        job.report(
            phase="analyse",
            percent=0.0,
            images_per_s=None,
            eta_s=None,
            message="map aligned to the previous version, index, scores",
        )
        job.heartbeat.start()  # the worker's heartbeat ended with it
        analyse_directory(
            job.store,
            staging,
            previous=job.previous,
            progress=True,
            map_method=job.opts.get("map_method", "umap"),
            map_seed=job.opts.get("map_seed"),
        )


def _rollback(job: Job) -> None:
    """Undo a version published while the job was being cancelled."""
    store = job.store
    store.reload()
    if job.version in store.versions:
        log.warning(
            "version %s was published before the cancel took effect: removing",
            job.version,
        )
        store.delete_version(job.version)
        if job.previous is not None and job.previous in store.versions:
            store.set_current(job.previous)
    cleanup_partial_version(store.root, job.version)


def _steps(job: Job) -> None:
    """The job's work from start to the published version; raises on failure."""
    cleanup_partial_version(job.store.root, job.version)
    job.report(
        phase="starting",
        pid=os.getpid(),
        started=time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime()),
        message=f"{job.spec['kind']} job starting",
    )
    _build_version(job)
    job.store.reload()
    if job.version not in job.store.versions:
        msg = f"the embedding finished but version {job.version!r} was not published"
        raise LatentskyError(msg)
    if job.previous is not None:
        _diff(job)
    if job.cancelled:
        raise JobCancelled  # asked to stop during the analysis
    current = job.store.current_version == job.version
    job.report(
        phase="done",
        percent=100.0,
        eta_s=None,
        message=f"version {job.version} is ready" + (" and current" if current else ""),
    )
    log.info("job %s done: version %s", job.spec["job_id"], job.version)


def _report_end(job: Job, exc: BaseException) -> int:
    """Roll back and write the terminal phase of a job that did not succeed."""
    cancelled = job.cancelled or isinstance(exc, JobCancelled | KeyboardInterrupt)
    try:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # clean-up is not interrupted
        _rollback(job)
    finally:
        if cancelled:
            log.info(
                "job %s cancelled; version %s discarded",
                job.spec["job_id"],
                job.version,
            )
            kept = job.previous or "no version"
            job.report(
                phase="cancelled",
                eta_s=None,
                message=f"cancelled; {kept} stays current",
            )
        else:
            log.error("job %s failed: %s", job.spec["job_id"], exc, exc_info=exc)
            text = str(exc)
            if not isinstance(exc, LatentskyError):
                text = f"{type(exc).__name__}: {exc}"
            job.report(phase="failed", eta_s=None, message=text)
    return EXIT_CANCELLED if cancelled else EXIT_FAILED


def _claim_lock(job: Job) -> None:
    """Record this process in the lock when the runner could not (a dask job)."""
    lock = read_lock(job.store.root) or {}
    if lock.get("job_id") == job.spec["job_id"] and not lock.get("pid"):
        pid = os.getpid()
        update_lock(
            job.store.root,
            pid=pid,
            start_ticks=process_start_ticks(pid),
            host=socket.gethostname(),
        )


def run_job_dir(directory: str | os.PathLike[str]) -> int:
    """Run the job described by ``directory/job.json``; returns the exit status.

    0 when the new version is published, :data:`EXIT_CANCELLED` when
    cancelled, :data:`EXIT_FAILED` on an error (message in ``progress.json``).
    """
    job = Job(Path(directory))

    def on_sigterm(signum: int, frame: Any) -> None:
        if job.signalled:
            return  # already unwinding
        job.signalled = True
        raise JobCancelled

    signal.signal(signal.SIGTERM, on_sigterm)
    _claim_lock(job)
    try:
        _steps(job)
        return 0
    except BaseException as exc:  # noqa: BLE001 - every way out is reported
        return _report_end(job, exc)
    finally:
        job.heartbeat.stop()
        progress = read_json(job.directory / PROGRESS) or {}
        if progress.get("phase") in TERMINAL:
            release_lock(job.store.root, job.spec["job_id"])


def main(argv: list[str] | None = None) -> int:
    """Command-line entry: ``python -m explorer.jobs.pipeline JOBDIR``."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m explorer.jobs.pipeline JOBDIR", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    return run_job_dir(args[0])


if __name__ == "__main__":
    sys.exit(main())
