"""Run one background job: ``python -m models.jobmain JOBDIR``.

Started by :class:`explorer.jobs.JobRunner` (as a subprocess in its own
process group, or on a ``dask.distributed`` worker through
:func:`run_job_dir`). Reads ``JOBDIR/job.json``, fine-tunes and/or embeds the
store into a new version, and reports through ``JOBDIR/progress.json``
(rewritten atomically, at most every :data:`THROTTLE_S` seconds, plus a
heartbeat every :data:`HEARTBEAT_S`).

SIGTERM (the runner's cancel) raises :class:`JobCancelled` in the main
thread: the unpublished version is discarded by ``Store.new_version``, the
previous version stays current, ``progress.json`` says ``cancelled`` and the
process exits with status :data:`EXIT_CANCELLED`. A SIGKILL leaves the lock
and a temporary directory behind; the runner recovers both.

Fault injection for tests: with ``LATENTSKY_JOB_STALL_PHASE=<phase>`` in the
environment the job stops (sleeps until cancelled or killed) after its first
progress report in that phase, so a test can kill it mid-phase.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

from explorer.errors import LatentskyError
from explorer.jobs import (
    CANCEL,
    CHECKPOINTS,
    JOBS,
    LOCK,
    LOG,
    SPEC,
    TERMINAL,
    cleanup_partial_version,
    write_progress,
)
from explorer.store import Store

log = logging.getLogger("latentsky.job")

THROTTLE_S = 0.5
HEARTBEAT_S = 5.0
EXIT_FAILED = 1
EXIT_CANCELLED = 3
STALL_ENV = "LATENTSKY_JOB_STALL_PHASE"
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class JobCancelled(Exception):  # noqa: N818 - it is a request, not an error
    """The job was asked to stop (SIGTERM or the ``cancel`` file)."""


class Reporter:
    """Throttled, thread-safe writer of ``progress.json``; the progress callback.

    Called with the dicts that :func:`models.train.train` and
    :func:`models.embed.embed_store` report (``phase``, ``fraction``,
    ``images_per_s``, ``eta_s``, ``epoch``, ``epochs``, ``loss``...).
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.phase = "starting"
        self.cancel_requested = False
        self._lock = threading.Lock()
        self._last_write = 0.0
        self._reports_in_phase = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._heartbeat, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _heartbeat(self) -> None:
        while not self._stop.wait(HEARTBEAT_S):
            if (self.directory / CANCEL).exists():
                self.cancel_requested = True
            with self._lock:
                write_progress(self.directory)

    def update(self, force: bool = False, **fields: Any) -> None:
        """Write ``fields`` (throttled unless ``force`` or the phase changes)."""
        phase = fields.get("phase")
        if phase is not None and phase != self.phase:
            self.phase = phase
            self._reports_in_phase = 0
            force = True
        now = time.monotonic()
        if not force and now - self._last_write < THROTTLE_S:
            return
        with self._lock:
            write_progress(self.directory, **fields)
            self._last_write = now

    def __call__(self, info: dict[str, Any]) -> None:
        """Progress callback of train/embed; raises JobCancelled when asked to stop."""
        if self.cancel_requested:
            raise JobCancelled
        phase = info.get("phase", self.phase)
        fraction = float(info.get("fraction", 0.0) or 0.0)
        fields: dict[str, Any] = {
            "phase": phase,
            "percent": round(100.0 * min(max(fraction, 0.0), 1.0), 1),
            "images_per_s": info.get("images_per_s"),
            "eta_s": info.get("eta_s"),
        }
        if "epoch" in info:
            fields["epoch"], fields["epochs"] = info.get("epoch"), info.get("epochs")
            loss = info.get("loss")
            fields["message"] = f"epoch {info['epoch']}/{info.get('epochs')}" + (
                f", loss {loss:.4f}" if isinstance(loss, float) else ""
            )
        elif info.get("message"):
            fields["message"] = str(info["message"])
        self.update(**fields)
        self._reports_in_phase += 1
        if os.environ.get(STALL_ENV) == phase and self._reports_in_phase == 1:
            self.update(force=True, message=f"stalled in {phase} ({STALL_ENV})")
            while True:  # until SIGTERM/SIGKILL or the cancel file
                if self.cancel_requested or (self.directory / CANCEL).exists():
                    raise JobCancelled
                time.sleep(0.05)
        if phase == "embed" and fraction >= 1.0:
            # embed_store analyses (map, index, scores) right after the last
            # batch, without progress reports of its own.
            self.update(
                phase="analyse",
                percent=0.0,
                images_per_s=None,
                eta_s=None,
                message="map aligned to the previous version, index, scores",
            )


def _device(name: str) -> tuple[str, str]:
    """The torch device to use and a description for the UI."""
    import torch

    from models.train import resolve_device

    device = resolve_device(name)
    if device.type == "cuda":
        return "cuda", f"cuda ({torch.cuda.get_device_name(device)})"
    return "cpu", f"cpu ({torch.get_num_threads()} threads)"


def _rollback(store: Store, version: str, previous: str | None) -> None:
    """Undo a version published while the job was being cancelled."""
    store.reload()
    if version in store.versions:
        log.warning(
            "version %s was published before the cancel took effect: removing", version
        )
        store.delete_version(version)
        if previous is not None and previous in store.versions:
            store.set_current(previous)
    cleanup_partial_version(store.root, version)


def _release_lock(store_root: Path, job_id: str) -> None:
    lock = store_root / JOBS / LOCK
    try:
        holder = json.loads(lock.read_text()).get("job_id")
    except (OSError, json.JSONDecodeError):
        return
    if holder == job_id:
        try:
            lock.unlink()
        except FileNotFoundError:
            pass


def _embed(
    store: Store, checkpoint: str, opts: dict[str, Any], device: str, reporter: Reporter
) -> None:
    from models.embed import embed_store

    sizes = {
        name: opts[name] for name in ("batch_size", "num_workers") if opts.get(name)
    }
    embed_store(
        store,
        checkpoint,
        opts["version"],
        device=device,
        make_current=bool(opts.get("make_current", True)),
        progress=reporter,
        **sizes,
    )


def _finetune(
    store: Store, opts: dict[str, Any], device: str, reporter: Reporter
) -> str:
    from explorer.store.annotations import Annotations
    from models.finetune import finetune

    clusters = {}
    if opts.get("clusters"):
        notes = Annotations(store.annotations_path)
        clusters = {name: notes.members(name) for name in opts["clusters"]}
    out = store.root / CHECKPOINTS / f"{opts['version']}.pt"
    overrides = {k: opts.get(k) for k in ("batch_size", "num_workers", "lr")}
    reporter.update(phase="train", percent=0.0, message="fine-tuning")
    finetune(
        store,
        opts["checkpoint"],
        out,
        epochs=int(opts["epochs"]),
        clusters=clusters,
        cluster_weight=float(opts.get("cluster_weight", 1.0)),
        device=device,
        overrides=overrides,
        progress=reporter,
    )
    return str(out)


def _diff(store: Store, previous: str, version: str, reporter: Reporter) -> None:
    """Cache the neighbourhood change against the previous version (for the map)."""
    from explorer.analysis.diff import neighbourhood_change

    reporter.update(
        phase="analyse", percent=90.0, message=f"neighbourhood change since {previous}"
    )
    try:
        change = neighbourhood_change(store, previous, version)
    except JobCancelled:
        raise
    except Exception as exc:  # noqa: BLE001 - a cache; the version is good without it
        log.warning("no version diff %s -> %s: %s", previous, version, exc)
        return
    log.info(
        "neighbourhood change %s -> %s: mean %.3f",
        previous,
        version,
        float(change.mean()),
    )


def run_job_dir(directory: str | os.PathLike[str]) -> int:
    """Run the job described by ``directory/job.json``; returns the exit status.

    0 when the new version is published, :data:`EXIT_CANCELLED` when
    cancelled, :data:`EXIT_FAILED` on an error (message in ``progress.json``).
    """
    directory = Path(directory)
    spec = json.loads((directory / SPEC).read_text())
    opts: dict[str, Any] = spec["options"]
    version = opts["version"]
    store = Store.open(spec["store"])
    previous = store.current_version
    reporter = Reporter(directory)
    cancelled = threading.Event()

    def on_sigterm(signum: int, frame: Any) -> None:
        if cancelled.is_set():
            return  # already unwinding
        cancelled.set()
        reporter.cancel_requested = True
        raise JobCancelled

    in_main = threading.current_thread() is threading.main_thread()
    log_handler = None
    if in_main:
        signal.signal(signal.SIGTERM, on_sigterm)
    else:  # on a dask worker: stdout is not the job's log, so add one
        log_handler = logging.FileHandler(directory / LOG)
        log_handler.setFormatter(logging.Formatter(LOG_FORMAT))
        logging.getLogger().addHandler(log_handler)
        logging.getLogger().setLevel(min(logging.getLogger().level, logging.INFO))
    reporter.start()
    try:
        cleanup_partial_version(store.root, version)
        device, described = _device(opts.get("device", "auto"))
        reporter.update(
            force=True,
            phase="starting",
            device=described,
            pid=os.getpid(),
            started=time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime()),
            message=f"{spec['kind']} job on {described}",
        )
        log.info(
            "job %s: %s into version %s on %s",
            spec["job_id"],
            spec["kind"],
            version,
            described,
        )
        checkpoint = opts["checkpoint"]
        if spec["kind"] == "finetune":
            checkpoint = _finetune(store, opts, device, reporter)
        if reporter.cancel_requested:
            raise JobCancelled
        reporter.update(
            phase="embed",
            percent=0.0,
            images_per_s=None,
            eta_s=None,
            message=f"embedding into version {version}",
        )
        _embed(store, checkpoint, opts, device, reporter)
        store.reload()
        if version not in store.versions:
            msg = f"the embedding finished but version {version!r} was not published"
            raise LatentskyError(msg)
        if previous is not None:
            _diff(store, previous, version, reporter)
        if reporter.cancel_requested or (directory / CANCEL).exists():
            raise JobCancelled  # asked to stop during the analysis
        reporter.update(
            force=True,
            phase="done",
            percent=100.0,
            eta_s=None,
            message=f"version {version} is ready"
            + (" and current" if store.current_version == version else ""),
        )
        log.info("job %s done: version %s", spec["job_id"], version)
        return 0
    except BaseException as exc:  # noqa: BLE001 - every way out is reported
        cancelled_now = (
            cancelled.is_set()
            or reporter.cancel_requested
            or isinstance(exc, JobCancelled | KeyboardInterrupt)
        )
        try:
            if in_main:  # a second SIGTERM must not interrupt the clean-up
                signal.signal(signal.SIGTERM, signal.SIG_IGN)
            _rollback(store, version, previous)
        finally:
            if cancelled_now:
                log.info(
                    "job %s cancelled; version %s discarded", spec["job_id"], version
                )
                reporter.update(
                    force=True,
                    phase="cancelled",
                    eta_s=None,
                    message=f"cancelled; {previous or 'no version'} stays current",
                )
            else:
                log.exception("job %s failed", spec["job_id"])
                text = (
                    str(exc)
                    if isinstance(exc, LatentskyError)
                    else (f"{type(exc).__name__}: {exc}")
                )
                reporter.update(force=True, phase="failed", eta_s=None, message=text)
        return EXIT_CANCELLED if cancelled_now else EXIT_FAILED
    finally:
        reporter.stop()
        if log_handler is not None:
            logging.getLogger().removeHandler(log_handler)
            log_handler.close()
        progress = json.loads((directory / "progress.json").read_text())
        if progress.get("phase") in TERMINAL:
            _release_lock(store.root, spec["job_id"])


def main(argv: list[str] | None = None) -> int:
    """Command-line entry: ``python -m models.jobmain JOBDIR``."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m models.jobmain JOBDIR", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    return run_job_dir(args[0])


if __name__ == "__main__":
    sys.exit(main())
