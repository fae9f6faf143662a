"""The job protocol: the files of a job directory and how they are written.

Both sides of a background job speak it: the runner (which starts, watches
and cancels jobs) and the job's processes (the orchestration in
:mod:`explorer.jobs.pipeline` and the torch worker it runs). Everything about
a job lives in the store, so a browser reload, a second dashboard session or
the CLI all see the same state::

    store/jobs/
      lock                  JSON {job_id, pid, host, start_ticks} while a job runs
      <job_id>/job.json     the spec: kind, options, store, created
      <job_id>/progress.json  phase, percent, images_per_s, eta_s, device, message, ...
      <job_id>/log.txt      the job's stdout/stderr (logging, tqdm)
      <job_id>/cancel       present once a cancel was requested

This module imports neither torch nor the runner.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as _dt
import json
import logging
import os
import shutil
import threading
from pathlib import Path
from typing import Any

from explorer.store import atomic
from explorer.store.layout import (
    CANCEL,
    JOBS,
    LOCK,
    LOG,
    MANIFEST,
    PROGRESS,
    SPEC,
    checkpoint_path,
    version_dir,
    version_leftovers,
)
from explorer.store.pids import pid_alive, process_start_ticks

__all__ = [
    "CANCEL",
    "DEVICES",
    "EXIT_CANCELLED",
    "EXIT_FAILED",
    "KINDS",
    "LOG",
    "PHASES",
    "PROGRESS",
    "SPEC",
    "STALL_ENV",
    "TERMINAL",
    "JobCancelled",
    "Heartbeat",
    "JobInfo",
    "cleanup_partial_version",
    "pid_alive",
    "process_start_ticks",
    "read_job",
    "read_lock",
    "release_lock",
    "list_jobs",
    "log_tail",
    "manifest_entry",
    "update_lock",
    "write_progress",
]

log = logging.getLogger(__name__)

KINDS = ("embed", "finetune")
DEVICES = ("auto", "cpu", "cuda")
#: Phases in the order a job passes them; the last three are terminal.
PHASES = (
    "queued",
    "starting",
    "train",
    "embed",
    "analyse",
    "done",
    "failed",
    "cancelled",
)
TERMINAL = frozenset({"done", "failed", "cancelled"})
#: Exit statuses of a job's processes (0 is success).
EXIT_FAILED = 1
EXIT_CANCELLED = 3
#: Seconds between heartbeats (rewrites of progress.json while a job runs).
HEARTBEAT_S = 5.0
#: Fault injection for tests: with ``LATENTSKY_JOB_STALL_PHASE=<phase>`` a job
#: stops (until cancelled or killed) after its first progress report in that
#: phase, so a test can kill it at a known point instead of racing it.
STALL_ENV = "LATENTSKY_JOB_STALL_PHASE"
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class JobCancelled(Exception):  # noqa: N818 - it is a request, not an error
    """The job was asked to stop (SIGTERM or the ``cancel`` file)."""


def now() -> str:
    """The current UTC time, ISO 8601 with milliseconds."""
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="milliseconds")


def read_json(path: Path) -> dict[str, Any] | None:
    """The JSON object in ``path``, or None if it is missing or being rewritten."""
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None


# ------------------------------------------------------------------ job info
@dataclasses.dataclass
class JobInfo:
    """What is known about one job (spec + latest progress).

    Attributes
    ----------
    job_id : str
        Sortable id (UTC time + random suffix); the job directory's name.
    kind : str
        ``"embed"`` or ``"finetune"``.
    directory : pathlib.Path
        ``store/jobs/<job_id>``.
    options : dict
        The job's options (checkpoint, epochs, clusters, device, version...).
    phase : str
        One of :data:`PHASES`.
    percent : float
        Progress of the current phase, 0-100.
    images_per_s, eta_s : float or None
        Throughput and estimated seconds left in the phase.
    device : str or None
        Where it runs, e.g. ``"cuda (NVIDIA H100 80GB HBM3)"`` or ``"cpu"``.
    message : str
        Human-readable status line (the error message when failed).
    version : str
        The version the job creates.
    created, updated : str
        ISO UTC times.
    epoch, epochs : int or None
        Fine-tuning epoch reached and planned.
    """

    job_id: str
    kind: str
    directory: Path
    options: dict[str, Any]
    phase: str = "queued"
    percent: float = 0.0
    images_per_s: float | None = None
    eta_s: float | None = None
    device: str | None = None
    message: str = ""
    version: str = ""
    created: str = ""
    updated: str = ""
    epoch: int | None = None
    epochs: int | None = None

    @property
    def finished(self) -> bool:
        """Whether the job reached a terminal phase."""
        return self.phase in TERMINAL

    @property
    def succeeded(self) -> bool:
        """Whether the job finished and published its version."""
        return self.phase == "done"

    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict (for the dashboard)."""
        out = dataclasses.asdict(self)
        out["directory"] = str(self.directory)
        return out

    def describe(self) -> str:
        """One status line, e.g. ``"embed 42% 1,234 img/s ETA 12 s on cpu"``."""
        parts = [f"{self.kind} job {self.job_id}: {self.phase}"]
        if not self.finished:
            parts.append(f"{self.percent:.0f}%")
            if self.images_per_s:
                parts.append(f"{self.images_per_s:,.0f} img/s")
            if self.eta_s is not None:
                parts.append(f"ETA {self.eta_s:,.0f} s")
        if self.device:
            parts.append(f"on {self.device}")
        if self.message:
            parts.append(f"- {self.message}")
        return " ".join(parts)


def read_job(directory: Path) -> JobInfo | None:
    """Load the :class:`JobInfo` of a job directory (None if it has no spec)."""
    spec = read_json(directory / SPEC)
    if spec is None:
        return None
    progress = read_json(directory / PROGRESS) or {}
    fields = {f.name for f in dataclasses.fields(JobInfo)}
    values = {k: v for k, v in progress.items() if k in fields}
    values.update(
        job_id=spec["job_id"],
        kind=spec["kind"],
        directory=directory,
        options=spec.get("options", {}),
        version=spec.get("options", {}).get("version", ""),
        created=spec.get("created", ""),
    )
    return JobInfo(**values)


def write_progress(directory: Path, **fields: Any) -> dict[str, Any]:
    """Merge ``fields`` into ``progress.json`` atomically; returns the new content."""
    path = directory / PROGRESS
    current = read_json(path) or {}
    current.update(fields)
    current["updated"] = now()
    atomic.write_json(path, current)
    return current


# ---------------------------------------------------------------------- lock
def read_lock(store_root: Path) -> dict[str, Any] | None:
    """Content of ``store/jobs/lock`` (None when no job holds it)."""
    return read_json(Path(store_root) / JOBS / LOCK)


def release_lock(store_root: Path, job_id: str) -> None:
    """Remove the store's job lock if job ``job_id`` holds it."""
    lock = read_lock(store_root)
    if lock is not None and lock.get("job_id") == job_id:
        with contextlib.suppress(FileNotFoundError):
            (Path(store_root) / JOBS / LOCK).unlink()


def cleanup_partial_version(store_root: Path, version: str) -> list[Path]:
    """Remove half-built directories of ``version`` left by a killed job.

    Removes the temporary names of :func:`explorer.store.layout.version_leftovers`
    (``Store.new_version``'s build directory, the temporary names of its
    final rename, a fine-tuned checkpoint being written) and, when the
    manifest does not list the version, ``versions/<version>`` (killed
    between the rename and the manifest update) and the fine-tuned
    ``checkpoints/<version>.pt``. Published versions are never touched.

    Returns
    -------
    list of pathlib.Path
        What was removed.
    """
    store_root = Path(store_root)
    if not version or not version_dir(store_root, version).parent.is_dir():
        return []
    candidates = version_leftovers(store_root, version)
    manifest = read_json(store_root / MANIFEST) or {}
    if version not in manifest.get("versions", {}):
        unpublished = (
            version_dir(store_root, version),
            checkpoint_path(store_root, version),
        )
        candidates += [path for path in unpublished if path.exists()]
    for path in candidates:
        shutil.rmtree(path, ignore_errors=True)
        if path.exists():  # a plain file
            with contextlib.suppress(OSError):
                path.unlink()
    if candidates:
        log.info("removed partial version files %s", [p.name for p in candidates])
    return candidates


class Heartbeat:
    """Rewrites ``progress.json`` every :data:`HEARTBEAT_S` seconds while a job runs.

    So the runner can tell a remote job that still runs from one that died;
    it also notices the ``cancel`` file (:attr:`cancel_requested`). Writes go
    through :attr:`lock`, which the job's own progress writes share.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.cancel_requested = False
        self.lock = threading.Lock()
        self._stop = threading.Event()

    def cancel_file_exists(self) -> bool:
        """Whether a cancel was requested through the ``cancel`` file."""
        return (self.directory / CANCEL).exists()

    def start(self) -> None:
        """Start beating (a daemon thread)."""
        self._stop.clear()
        threading.Thread(target=self._run, daemon=True).start()

    def stop(self) -> None:
        """Stop beating (within one heartbeat)."""
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.wait(HEARTBEAT_S):
            if self.cancel_file_exists():
                self.cancel_requested = True
            with self.lock:
                write_progress(self.directory)


def update_lock(store_root: Path, **fields: Any) -> None:
    """Merge ``fields`` into the store's job lock (atomically)."""
    lock = read_lock(store_root) or {}
    lock.update(fields)
    atomic.write_json(Path(store_root) / JOBS / LOCK, lock)


def manifest_entry(config: dict[str, Any]) -> dict[str, Any]:
    """The manifest fields of a version, from the ``config.json`` embedding wrote.

    Parameters
    ----------
    config : dict
        The version's ``config.json`` (``embedding_dim``, ``checkpoint``,
        ``training_config``).

    Returns
    -------
    dict
        ``{"embedding_dim", "method", "checkpoint"}``.
    """
    return {
        "embedding_dim": config["embedding_dim"],
        "method": config.get("training_config", {}).get("method"),
        "checkpoint": config["checkpoint"],
    }


def list_jobs(store_root: Path) -> list[JobInfo]:
    """All jobs of the store, newest first."""
    jobs_dir = Path(store_root) / JOBS
    if not jobs_dir.is_dir():
        return []
    infos = []
    for directory in sorted(jobs_dir.iterdir(), reverse=True):
        if directory.is_dir():
            info = read_job(directory)
            if info is not None:
                infos.append(info)
    return infos


def log_tail(directory: Path, lines: int = 40) -> str:
    """The last ``lines`` lines of a job's ``log.txt`` (tqdm redraws collapsed)."""
    path = Path(directory) / LOG
    if not path.exists():
        return ""
    with open(path, "rb") as fh:
        fh.seek(0, os.SEEK_END)
        size = fh.tell()
        fh.seek(max(0, size - 64 * 1024))
        text = fh.read().decode("utf-8", "replace")
    # tqdm redraws a line with "\r": keep only its last state.
    rows = [
        line.rstrip("\r").rsplit("\r", 1)[-1]
        for line in text.rstrip("\r\n").split("\n")
    ]
    return "\n".join(rows[-lines:])
