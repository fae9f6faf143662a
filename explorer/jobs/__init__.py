"""Background re-embedding jobs: launched outside the dashboard, state on disk.

A job trains or fine-tunes the encoder and/or embeds the store into a new
version. It runs in a separate process (``python -m models.jobmain JOBDIR``,
its own process group) or, given a scheduler address, on a
``dask.distributed`` worker that sees the same store path. Everything about a
job lives in the store, so a browser reload, a second dashboard session or the
CLI all see the same state::

    store/jobs/
      lock                  JSON {job_id, pid, host, start_ticks} while a job runs
      <job_id>/job.json     the spec: kind, options, store, created
      <job_id>/progress.json  phase, percent, images_per_s, eta_s, device, message, ...
      <job_id>/log.txt      the job's stdout/stderr (logging, tqdm)
      <job_id>/cancel       present once a cancel was requested

Only one job runs per store (the lock is created with ``O_EXCL``); a lock
whose process is gone (PID not alive, or reused by another program, or a dask
job whose heartbeat stopped) is stale and is recovered automatically, the dead
job marked failed and its half-built version directory removed. The new
version is published by ``Store.new_version`` only when the job succeeds, so a
cancelled, failed or killed job leaves the previous version current and intact.

This module imports neither torch nor dask at import time.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as _dt
import json
import logging
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from explorer.errors import DataError, StoreError
from explorer.store import VERSIONS, Store, atomic, check_version_name

log = logging.getLogger(__name__)

JOBS = "jobs"
LOCK = "lock"
SPEC = "job.json"
PROGRESS = "progress.json"
LOG = "log.txt"
CANCEL = "cancel"
#: Fine-tuned checkpoints, one per version: ``store/checkpoints/<version>.pt``.
CHECKPOINTS = "checkpoints"

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
#: A dask job whose progress file is older than this is presumed dead.
HEARTBEAT_STALE_S = 120.0
#: Seconds between SIGTERM and SIGKILL when cancelling.
CANCEL_GRACE_S = 20.0

# Popen objects of jobs started by this process, so their exit is reaped
# (a zombie would look alive to kill(pid, 0)).
_CHILDREN: dict[int, subprocess.Popen] = {}
# The same processes by job id, so that waiting for a job also reaps it.
_JOB_PROCESSES: dict[str, subprocess.Popen] = {}


def _reap(job_id: str) -> None:
    """Wait for the exit of job ``job_id``'s process if this process started it.

    A job writes its terminal phase just before it exits; reaping it here
    keeps it from lingering as a zombie (or being reported still running).
    """
    proc = _JOB_PROCESSES.pop(job_id, None)
    if proc is None:
        return
    try:
        proc.wait(timeout=CANCEL_GRACE_S)
    except subprocess.TimeoutExpired:
        log.warning("job %s wrote its final state but has not exited", job_id)


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="milliseconds")


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None


# ---------------------------------------------------------------- processes
def process_start_ticks(pid: int) -> int | None:
    """Start time of process ``pid`` in clock ticks since boot (Linux), else None.

    Stored in the lock with the PID so that a PID reused by an unrelated
    process is not mistaken for the job.
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces; fields after ")" are fixed.
    fields = stat.rsplit(")", 1)[-1].split()
    try:
        return int(fields[19])
    except (IndexError, ValueError):
        return None


def pid_alive(pid: int | None, start_ticks: int | None = None) -> bool:
    """Whether ``pid`` runs (not a zombie) and, if given, started at ``start_ticks``."""
    if not pid:
        return False
    child = _CHILDREN.get(pid)
    if child is not None and child.poll() is not None:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by someone else
    proc_stat = Path(f"/proc/{pid}/stat")
    if proc_stat.exists():
        with contextlib.suppress(OSError, IndexError):
            state = proc_stat.read_text().rsplit(")", 1)[-1].split()[0]
            if state in ("Z", "X"):
                return False
        if start_ticks is not None and process_start_ticks(pid) not in (
            None,
            start_ticks,
        ):
            return False
    return True


def _kill_after(pid: int, start_ticks: int | None, timeout: float) -> None:
    """SIGKILL process group ``pid`` if it still runs after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_alive(pid, start_ticks):
            return
        time.sleep(0.2)
    log.warning("job process %d ignored SIGTERM for %.0f s: killing it", pid, timeout)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


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
    spec = _read_json(directory / SPEC)
    if spec is None:
        return None
    progress = _read_json(directory / PROGRESS) or {}
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
    current = _read_json(path) or {}
    current.update(fields)
    current["updated"] = _now()
    atomic.write_json(path, current)
    return current


def cleanup_partial_version(store_root: Path, version: str) -> list[Path]:
    """Remove half-built directories of ``version`` left by a killed job.

    Removes ``versions/.tmp-<version>-*`` (``Store.new_version``'s build
    directory), the temporary names of its final rename, and, when the
    manifest does not list the version, ``versions/<version>`` (killed
    between the rename and the manifest update) and the fine-tuned
    ``checkpoints/<version>.pt``. Published versions are never touched.

    Returns
    -------
    list of pathlib.Path
        What was removed.
    """
    versions = store_root / VERSIONS
    if not version or not versions.is_dir():
        return []
    removed = []
    candidates = [
        *versions.glob(f".tmp-{version}-*"),
        *versions.glob(f".{version}.*.tmp"),
        *versions.glob(f".{version}.old-*"),
    ]
    manifest = _read_json(store_root / "manifest.json") or {}
    if version not in manifest.get("versions", {}):
        candidates += [
            path
            for path in (versions / version, store_root / CHECKPOINTS / f"{version}.pt")
            if path.exists()
        ]
    candidates += (store_root / CHECKPOINTS).glob(f".{version}.pt.*.tmp")
    for path in candidates:
        shutil.rmtree(path, ignore_errors=True)
        if path.exists():  # a plain file
            with contextlib.suppress(OSError):
                path.unlink()
        removed.append(path)
    if removed:
        log.info("removed partial version files %s", [p.name for p in removed])
    return removed


# ------------------------------------------------------------------- runner
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

    # ------------------------------------------------------------- options
    def _next_version_name(self) -> str:
        self.store.reload()
        existing = set(self.store.versions)
        existing |= {p.name for p in (self.root / VERSIONS).glob("*") if p.is_dir()}
        n = len(self.store.versions) + 1
        while f"v{n}" in existing:
            n += 1
        return f"v{n}"

    def _normalise(self, kind: str, options: dict[str, Any]) -> dict[str, Any]:
        if kind not in KINDS:
            msg = f"job kind {kind!r} is not one of {KINDS}"
            raise DataError(msg)
        opts = dict(options)
        unknown = set(opts) - {
            "checkpoint",
            "epochs",
            "clusters",
            "device",
            "version",
            "batch_size",
            "num_workers",
            "cluster_weight",
            "lr",
            "make_current",
        }
        if unknown:
            msg = f"unknown {kind} job option(s) {sorted(unknown)}"
            raise DataError(msg)
        device = opts.get("device") or "auto"
        if device not in DEVICES:
            msg = f"device {device!r} is not one of {DEVICES}"
            raise DataError(msg)
        opts["device"] = device
        checkpoint = opts.get("checkpoint")
        if checkpoint is None:
            checkpoint = self._current_checkpoint()
            if checkpoint is None:
                msg = (
                    f"store {self.root} has no current version with a checkpoint: "
                    "pass a checkpoint (train one with `latentsky train`)"
                )
                raise DataError(msg)
        checkpoint = Path(checkpoint).expanduser().resolve()
        if not checkpoint.is_file():
            msg = f"checkpoint {checkpoint} does not exist"
            raise DataError(msg)
        opts["checkpoint"] = str(checkpoint)
        if kind == "finetune":
            epochs = opts.get("epochs", 1)
            if not isinstance(epochs, int) or isinstance(epochs, bool) or epochs < 1:
                msg = f"fine-tuning needs a positive number of epochs, got {epochs!r}"
                raise DataError(msg)
            opts["epochs"] = epochs
            clusters = opts.get("clusters")
            if clusters:
                from explorer.store.annotations import Annotations

                saved = Annotations(self.store.annotations_path).names()
                if clusters is True:
                    clusters = saved
                    if not clusters:
                        msg = (
                            f"store {self.root} has no saved clusters to use "
                            "as positives"
                        )
                        raise DataError(msg)
                unknown_names = [c for c in clusters if c not in saved]
                if unknown_names:
                    msg = (
                        f"no saved cluster(s) named {unknown_names} "
                        f"(clusters: {saved or 'none'})"
                    )
                    raise DataError(msg)
            opts["clusters"] = list(clusters or [])
        elif opts.get("epochs") or opts.get("clusters"):
            raise DataError("epochs/clusters apply to fine-tuning jobs, not embed jobs")
        version = opts.get("version") or self._next_version_name()
        check_version_name(version)
        self.store.reload()
        if version in self.store.versions:
            msg = f"store {self.root} already has a version {version!r}"
            raise StoreError(msg)
        opts["version"] = version
        opts.setdefault("make_current", True)
        return opts

    def _current_checkpoint(self) -> str | None:
        self.store.reload()
        if self.store.current_version is None:
            return None
        config = self.store.version_config(self.store.current_version)
        for key in ("checkpoint_path", "checkpoint"):
            value = config.get(key)
            if isinstance(value, str) and Path(value).is_file():
                return value
        return None

    # ---------------------------------------------------------------- lock
    def _read_lock(self) -> dict[str, Any] | None:
        return _read_json(self.lock_path)

    def _lock_alive(self, lock: dict[str, Any]) -> bool:
        if lock.get("host") == socket.gethostname() and lock.get("pid"):
            return pid_alive(int(lock["pid"]), lock.get("start_ticks"))
        if lock.get("pid") is None and lock.get("launcher_pid"):
            # Between lock creation and launch: alive while the launcher is.
            if not pid_alive(int(lock["launcher_pid"]), lock.get("launcher_ticks")):
                return False
        progress = _read_json(self.jobs_dir / str(lock.get("job_id")) / PROGRESS) or {}
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

    def _acquire(self, job_id: str) -> None:
        self.jobs_dir.mkdir(parents=True, exist_ok=True)
        for _ in range(2):
            try:
                fd = os.open(
                    self.lock_path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644
                )
            except FileExistsError:
                lock = self._read_lock()
                if lock is None:
                    # Being written right now by another starter (or empty
                    # from a crash between create and write): treat by age.
                    age = time.time() - self.lock_path.stat().st_mtime
                    if age < 5:
                        msg = f"another job is being started on store {self.root}"
                        raise StoreError(msg) from None
                    self._recover(None)
                    continue
                if self._lock_alive(lock):
                    info = read_job(self.jobs_dir / str(lock.get("job_id")))
                    what = info.describe() if info else f"job {lock.get('job_id')}"
                    msg = (
                        f"a job is already running on store {self.root}: {what}; "
                        "wait for it or cancel it"
                    )
                    raise StoreError(msg) from None
                self._recover(lock)
                continue
            with os.fdopen(fd, "w") as fh:
                json.dump(
                    {
                        "job_id": job_id,
                        "pid": None,
                        "launcher_pid": os.getpid(),
                        "launcher_ticks": process_start_ticks(os.getpid()),
                        "host": socket.gethostname(),
                        "created": _now(),
                    },
                    fh,
                )
            return
        msg = f"could not take the job lock {self.lock_path}"
        raise StoreError(msg)

    def _update_lock(self, **fields: Any) -> None:
        lock = self._read_lock() or {}
        lock.update(fields)
        atomic.write_json(self.lock_path, lock)

    def _release(self, job_id: str) -> None:
        lock = self._read_lock()
        if lock is not None and lock.get("job_id") == job_id:
            with contextlib.suppress(FileNotFoundError):
                self.lock_path.unlink()

    def _recover(self, lock: dict[str, Any] | None) -> None:
        """Clear a stale lock: mark its job ended, remove its partial version."""
        job_id = lock.get("job_id") if lock else None
        if job_id:
            directory = self.jobs_dir / str(job_id)
            self._finalise_dead(directory)
        with contextlib.suppress(FileNotFoundError):
            self.lock_path.unlink()
        log.warning("recovered stale job lock of job %s on %s", job_id, self.root)

    def _finalise_dead(self, directory: Path, returncode: int | None = None) -> None:
        info = read_job(directory)
        if info is None:
            return
        if not info.finished:
            cancelled = (directory / CANCEL).exists()
            phase = "cancelled" if cancelled else "failed"
            if cancelled:
                message = "cancelled (the job process was stopped)"
            else:
                code = (
                    f" with exit status {returncode}" if returncode is not None else ""
                )
                message = (
                    f"the job process ended{code} without finishing "
                    f"(killed? see {directory / LOG})"
                )
            write_progress(directory, phase=phase, message=message, eta_s=None)
        if info.phase != "done":
            cleanup_partial_version(self.root, info.version)

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
            ``num_workers``, ``cluster_weight``, ``lr``, ``make_current``.

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
        opts = self._normalise(kind, options)
        job_id = _dt.datetime.now(_dt.UTC).strftime(
            "%Y%m%d-%H%M%S-"
        ) + secrets.token_hex(3)
        self._acquire(job_id)
        directory = self.jobs_dir / job_id
        try:
            directory.mkdir(parents=True)
            spec = {
                "job_id": job_id,
                "kind": kind,
                "store": str(self.root),
                "options": opts,
                "created": _now(),
                "scheduler": scheduler,
            }
            atomic.write_json(directory / SPEC, spec)
            write_progress(
                directory, phase="queued", percent=0.0, message="waiting to start"
            )
            if scheduler:
                self._submit_dask(scheduler, directory)
            else:
                self._spawn(directory)
        except BaseException as exc:
            if directory.exists():
                write_progress(
                    directory, phase="failed", message=f"could not start: {exc}"
                )
            self._release(job_id)
            raise
        log.info("started %s job %s on %s", kind, job_id, self.root)
        return read_job(directory)

    def _spawn(self, directory: Path) -> None:
        package_root = str(Path(__file__).resolve().parent.parent)
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (package_root, env.get("PYTHONPATH", "")) if p
        )
        env["PYTHONUNBUFFERED"] = "1"
        with open(directory / LOG, "ab") as log_file:
            proc = subprocess.Popen(
                [sys.executable, "-m", "models.jobmain", str(directory)],
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=str(directory),
                start_new_session=True,  # own process group: cancel kills workers too
            )
        _CHILDREN[proc.pid] = proc
        _JOB_PROCESSES[directory.name] = proc
        # progress.json is the job's to write from now on (it records its pid).
        self._update_lock(pid=proc.pid, start_ticks=process_start_ticks(proc.pid))

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
        from models import jobmain  # noqa: PLC0415 - only the worker runs it

        # Written before submitting: once the worker runs, progress.json is its.
        self._update_lock(pid=None, launcher_pid=None, scheduler=address)
        write_progress(directory, message=f"submitted to dask scheduler {address}")
        try:
            future = client.submit(jobmain.run_job_dir, str(directory), pure=False)
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
            config = self.store.version_config(name)
            path = config.get("checkpoint_path") or config.get("checkpoint")
            if isinstance(path, str) and Path(path).is_file():
                found.append({"version": name, "path": path})
        return found

    def jobs(self) -> list[JobInfo]:
        """All jobs of the store, newest first."""
        if not self.jobs_dir.is_dir():
            return []
        infos = []
        for directory in sorted(self.jobs_dir.iterdir(), reverse=True):
            if directory.is_dir():
                info = read_job(directory)
                if info is not None:
                    infos.append(info)
        return infos

    def running(self) -> JobInfo | None:
        """The job holding the lock if it is alive (stale locks are recovered)."""
        lock = self._read_lock()
        if lock is None:
            return None
        if not self._lock_alive(lock):
            child = _CHILDREN.get(lock.get("pid") or -1)
            code = child.poll() if child is not None else None
            job_dir = self.jobs_dir / str(lock.get("job_id"))
            if lock.get("job_id"):
                self._finalise_dead(job_dir, code)
            self._release(str(lock.get("job_id")))
            return None
        return read_job(self.jobs_dir / str(lock.get("job_id")))

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
        if info is None:
            return ""
        path = info.directory / LOG
        if not path.exists():
            return ""
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - 64 * 1024))
            text = fh.read().decode("utf-8", "replace")
        rows = []
        for line in text.rstrip("\r\n").split("\n"):
            # tqdm redraws a line with "\r": keep only its last state.
            rows.append(line.rstrip("\r").rsplit("\r", 1)[-1])
        return "\n".join(rows[-lines:])

    # ----------------------------------------------------- cancel and wait
    def cancel(
        self,
        job_id: str | None = None,
        timeout: float = CANCEL_GRACE_S,
        *,
        wait: bool = True,
    ) -> JobInfo:
        """Stop the running job; the previous version stays current.

        Sends SIGTERM to the job's process group (the job marks itself
        cancelled and its unpublished version is discarded), and SIGKILL if
        it has not ended after ``timeout`` seconds. A dask job is asked to stop
        through its ``cancel`` file.

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
        atomic.write_bytes(directory / CANCEL, _now().encode())
        lock = self._read_lock() or {}
        pid = lock.get("pid")
        local = lock.get("host") == socket.gethostname() and pid
        if local:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(int(pid), signal.SIGTERM)
        if not wait:
            if local:
                threading.Thread(
                    target=_kill_after,
                    args=(int(pid), lock.get("start_ticks"), timeout),
                    daemon=True,
                ).start()
            return read_job(directory) or running
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if local and not pid_alive(int(pid), lock.get("start_ticks")):
                break
            if not local and (read_job(directory) or running).finished:
                break
            time.sleep(0.1)
        else:
            if local:
                log.warning(
                    "job %s ignored SIGTERM for %.0f s: killing it",
                    running.job_id,
                    timeout,
                )
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(int(pid), signal.SIGKILL)
                for _ in range(50):
                    if not pid_alive(int(pid), lock.get("start_ticks")):
                        break
                    time.sleep(0.1)
        if local or (read_job(directory) or running).finished:
            child = _CHILDREN.get(int(pid)) if pid else None
            self._finalise_dead(directory, child.poll() if child else None)
            self._release(running.job_id)
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
                _reap(job_id)
                return info
            if deadline is not None and time.monotonic() > deadline:
                msg = f"job {job_id} still {info.phase} after {timeout} s"
                raise TimeoutError(msg)
            time.sleep(poll_s)
