"""Start, watch and cancel background jobs; the one gateway to the torch side.

A job runs as ``python -m explorer.jobs.pipeline JOBDIR`` in its own process
group, started here as a local subprocess or, given a scheduler address, by a
``dask.distributed`` task that runs the same command on the worker machine
(:func:`run_job_process`); cancel is the same either way (the ``cancel`` file,
and SIGTERM to the process group when it runs on this host). The pipeline
runs the torch worker (:func:`worker_command`) as its child. Only one job
runs per store (:mod:`explorer.jobs.lock`); the new version is published only
when the job succeeds.

The gateway functions (:func:`training_defaults`, :func:`train_encoder`,
:func:`embed_version`, :func:`encode_store`, :func:`embed_cutouts`) are how
the rest of ``explorer`` uses the encoder: this is the only module that names
``models``, always inside a function, so importing it never imports torch.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import logging
import os
import secrets
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from explorer.errors import DataError, StoreError
from explorer.jobs import lock as job_lock
from explorer.jobs import process
from explorer.jobs.options import (
    cluster_members,
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


def worker_command(directory: Path, staging: Path) -> list[str]:
    """The torch worker of a job: fine-tunes and/or embeds into ``staging``."""
    return [sys.executable, "-m", "models.worker", str(directory), str(staging)]


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
def training_defaults() -> dict[str, Any]:
    """The default training settings (``TrainConfig`` fields); imports no torch."""
    from models.api import training_defaults as defaults

    return defaults()


def train_encoder(
    store_root: Path,
    out: Path,
    settings: dict[str, Any],
    *,
    device: str = "auto",
    resume: bool = False,
    progress: bool = True,
    slim: bool = False,
    on_epoch_end: Callable[[int, Callable[[np.ndarray], np.ndarray]], Any]
    | None = None,
) -> Path:
    """Train a self-supervised encoder on the store's cutouts, in this process.

    Parameters
    ----------
    store_root : pathlib.Path
        The store.
    out : pathlib.Path
        Checkpoint file, rewritten atomically after every epoch.
    settings : dict
        Training setting overrides, e.g. ``{"width": 16, "epochs": 6}``
        (``None`` values keep the default).
    device : str
        ``"auto"`` (cuda > cpu), ``"cpu"`` or ``"cuda"``.
    resume : bool
        Continue from ``out`` if it exists.
    progress : bool
        Log a line per epoch.
    slim : bool
        Leave the optimiser state out of the checkpoint.
    on_epoch_end : callable, optional
        ``on_epoch_end(epoch, encode)`` after every epoch, where ``encode``
        maps raw cutouts ``(n, bands, S, S)`` to ``(n, D)`` float32 unit ``h``
        of the current model; a returned dict is merged into that epoch's
        history entry (the benchmark's accuracy-vs-epochs curve).

    Returns
    -------
    pathlib.Path
        The checkpoint written.

    Raises
    ------
    DataError
        If a settings key is not a training setting (the message names it).
    """
    from models.api import train_encoder as train

    return train(
        Path(store_root),
        Path(out),
        settings,
        device=device,
        resume=resume,
        progress=progress,
        slim=slim,
        on_epoch_end=on_epoch_end,
    )


def load_torch_side() -> None:
    """Import the training and embedding code (and torch) now.

    A benchmark calls it first so that its timed calls do not include
    torch's import, which takes seconds.
    """
    import models.embed  # noqa: F401
    import models.train  # noqa: F401


def training_summary(checkpoint: Path) -> dict[str, Any]:
    """What a checkpoint records of its training run.

    Returns
    -------
    dict
        ``{"config", "epochs", "history", "device", "device_name"}``: the
        TrainConfig dict, completed epochs, per-epoch history entries, the
        device trained on and (on CUDA) the GPU's name.
    """
    from models.api import training_summary as summary

    return summary(Path(checkpoint))


def embed_version(
    store_root: Path,
    checkpoint: Path,
    version: str,
    *,
    device: str = "auto",
    batch_size: int | None = None,
    workers: int = 0,
    progress: bool = True,
    make_current: bool = True,
    analyse: bool = True,
) -> str:
    """Embed the store into a new version, analyse it and publish it (in process).

    Parameters
    ----------
    store_root : pathlib.Path
        The store.
    checkpoint : pathlib.Path
        Trained checkpoint.
    version : str
        Name of the new version (must not exist).
    device : str
        ``"auto"``, ``"cpu"`` or ``"cuda"``.
    batch_size : int, optional
        Cutouts per forward pass (default from free GPU memory; 512 on CPU).
    workers : int
        Data-loading worker processes.
    progress : bool
        Show progress bars.
    make_current : bool
        Make the new version current.
    analyse : bool
        Compute map, index and scores before publishing (the dashboard
        needs them; False writes the embeddings only).

    Returns
    -------
    str
        The version's name.
    """
    from explorer.analysis.pipeline import analyse_directory
    from models.api import embed_store

    store = Store.open(store_root, check=True)
    previous = store.current_version
    if previous in store.damaged:  # nothing to align the new map with
        previous = None

    def analysis(directory: Path) -> None:
        analyse_directory(store, directory, previous=previous, progress=progress)

    embed_store(
        store.root,
        Path(checkpoint),
        version,
        device=device,
        batch_size=batch_size,
        workers=workers,
        progress=progress,
        make_current=make_current,
        before_publish=analysis if analyse else None,
    )
    return version


def encode_store(
    store_root: Path,
    checkpoint: Path,
    *,
    device: str = "auto",
    batch_size: int | None = None,
    workers: int = 0,
    progress: bool = True,
) -> np.ndarray:
    """Representations of every cutout of the store, in memory (no version).

    Returns
    -------
    ndarray
        ``(N, D)`` float32, L2-normalised rows ``h``, in store row order.
    """
    from models.api import encode_store as encode

    return encode(
        Path(store_root),
        Path(checkpoint),
        device=device,
        batch_size=batch_size,
        workers=workers,
        progress=progress,
    )


def embed_cutouts(
    checkpoint: Path, cutouts: np.ndarray, *, timeout_s: float = 120.0
) -> np.ndarray:
    """Embed a few cutouts with ``checkpoint`` in a subprocess (on the CPU).

    The calling process (the dashboard server) never imports torch; the
    child takes a few seconds, mostly importing torch.

    Parameters
    ----------
    checkpoint : pathlib.Path
        A checkpoint written by ``latentsky train``.
    cutouts : ndarray
        ``(n, bands, S, S)`` float32.
    timeout_s : float
        Seconds before the subprocess is given up.

    Returns
    -------
    ndarray
        ``(n, D)`` float32 L2-normalised representations.

    Raises
    ------
    DataError
        If the checkpoint is unusable, the cutouts do not match it, or the
        subprocess failed or timed out (the message gives its reason).
    """
    checkpoint = Path(checkpoint)
    command = [sys.executable, "-m", "models.embed_worker", str(checkpoint)]
    try:
        return process.embed_in_subprocess(command, cutouts, timeout_s)
    except DataError as exc:
        msg = f"cannot embed the upload with {checkpoint.name}: {exc}"
        raise DataError(msg) from exc
