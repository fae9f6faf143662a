"""The torch side of a background job: ``python -m models.worker JOBDIR STAGING``.

Started by the job's orchestration process (:mod:`explorer.jobs.pipeline`) as
its child, in the same process group, whether the job runs locally or on a
``dask.distributed`` worker. Reads ``JOBDIR/job.json``, fine-tunes the encoder
(``finetune`` jobs, into ``store/checkpoints/<version>.pt``) and writes the
embeddings of the store into ``STAGING`` (the version directory being built).
It runs no analysis and publishes nothing: the orchestration does both.

Progress goes to ``JOBDIR/progress.json`` (throttled to one write per
:data:`THROTTLE_S`, plus a heartbeat). SIGTERM or the ``cancel`` file stop it
with exit status :data:`~explorer.jobs.protocol.EXIT_CANCELLED`; an error is
logged, its message stored as ``error`` in ``progress.json``, and the exit
status is :data:`~explorer.jobs.protocol.EXIT_FAILED`. The terminal phase is
written by the orchestration, never here.

Fault injection for tests: with ``LATENTSKY_JOB_STALL_PHASE=<phase>`` in the
environment the worker stops (sleeps until cancelled or killed) after its
first progress report in that phase, so a test can kill it mid-phase.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

from explorer.errors import LatentskyError
from explorer.jobs.protocol import (
    EXIT_CANCELLED,
    EXIT_FAILED,
    LOG_FORMAT,
    SPEC,
    STALL_ENV,
    Heartbeat,
    JobCancelled,
    read_json,
    write_progress,
)
from explorer.store import Store
from explorer.store.layout import CONFIG, checkpoint_path

log = logging.getLogger("latentsky.job")

#: Seconds between two throttled progress writes.
THROTTLE_S = 0.5


class Reporter:
    """Throttled, thread-safe writer of ``progress.json``; the progress callback.

    Called with the dicts that :func:`models.train.train` and
    :func:`models.embed.write_embeddings` report (``phase``, ``fraction``,
    ``images_per_s``, ``eta_s``, ``epoch``, ``epochs``, ``loss``...).
    """

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.phase = "starting"
        self.heartbeat = Heartbeat(self.directory)
        self._last_write = 0.0
        self._reports_in_phase = 0

    @property
    def cancel_requested(self) -> bool:
        """Whether SIGTERM or the ``cancel`` file asked the job to stop."""
        return self.heartbeat.cancel_requested

    def request_cancel(self) -> None:
        """Make the next progress report raise :class:`JobCancelled`."""
        self.heartbeat.cancel_requested = True

    def update(self, force: bool = False, **fields: Any) -> None:
        """Write ``fields`` (throttled unless ``force`` or the phase changes)."""
        phase = fields.get("phase")
        if phase is not None and phase != self.phase:
            self.phase = phase
            self._reports_in_phase = 0
            force = True
        moment = time.monotonic()
        if not force and moment - self._last_write < THROTTLE_S:
            return
        with self.heartbeat.lock:
            write_progress(self.directory, **fields)
            self._last_write = moment

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
            self._stall(phase)

    def _stall(self, phase: str) -> None:
        """Fault injection (:data:`STALL_ENV`): wait until cancelled or killed."""
        self.update(force=True, message=f"stalled in {phase} ({STALL_ENV})")
        while True:
            if self.cancel_requested or self.heartbeat.cancel_file_exists():
                raise JobCancelled
            time.sleep(0.05)


def _device(name: str) -> tuple[str, str]:
    """The torch device to use and a description for the UI."""
    import torch

    from models.train import resolve_device

    device = resolve_device(name)
    if device.type == "cuda":
        return "cuda", f"cuda ({torch.cuda.get_device_name(device)})"
    return "cpu", f"cpu ({torch.get_num_threads()} threads)"


def _finetune(
    store: Store, spec: dict[str, Any], device: str, reporter: Reporter
) -> tuple[str, dict[str, Any]]:
    """Fine-tune the job's checkpoint into ``checkpoints/<version>.pt``.

    Returns the checkpoint's path and the provenance of the fine-tuning
    (epochs, start checkpoint, and what the extra terms used).
    """
    import numpy as np

    from models.feedback import LabelFeedback
    from models.finetune import finetune

    opts = spec["options"]
    # Resolved from the annotations by the runner when the job started.
    members = spec.get("cluster_members") or {}
    clusters = {name: np.asarray(ids, dtype=np.int64) for name, ids in members.items()}
    labels = LabelFeedback.from_spec(spec.get("label_feedback"))
    out = checkpoint_path(store.root, opts["version"])
    overrides = {k: opts.get(k) for k in ("batch_size", "num_workers", "lr")}
    reporter.update(phase="train", percent=0.0, message="fine-tuning")
    result = finetune(
        store,
        opts["checkpoint"],
        out,
        epochs=int(opts["epochs"]),
        clusters=clusters,
        cluster_weight=float(opts.get("cluster_weight", 1.0)),
        labels=labels if opts.get("use_labels") else None,
        label_weight=float(opts.get("label_weight") or 1.0),
        device=device,
        overrides=overrides,
        progress=reporter,
    )
    provenance = {
        "from_checkpoint": opts["checkpoint"],
        "epochs": int(opts["epochs"]),
        **result.get("feedback", {}),
    }
    return str(out), provenance


def _record_finetune(staging: Path, provenance: dict[str, Any]) -> None:
    """Add the fine-tuning's provenance to the version's ``config.json``."""
    from explorer.store.atomic import write_json

    config = read_json(staging / CONFIG) or {}
    config["finetune"] = provenance
    write_json(staging / CONFIG, config)


def _embed(
    store: Store,
    checkpoint: str,
    staging: Path,
    opts: dict[str, Any],
    device: str,
    reporter: Reporter,
) -> None:
    """Write the embeddings of ``store`` into ``staging``."""
    from models.embed import write_embeddings

    reporter.update(
        phase="embed",
        percent=0.0,
        images_per_s=None,
        eta_s=None,
        message=f"embedding into version {opts['version']}",
    )
    sizes = {
        name: opts[name] for name in ("batch_size", "num_workers") if opts.get(name)
    }
    write_embeddings(
        store, checkpoint, staging, device=device, progress=reporter, **sizes
    )


def _work(directory: Path, staging: Path, reporter: Reporter) -> None:
    """Fine-tune (if asked) and embed; raises on any failure."""
    spec = read_json(directory / SPEC)
    if spec is None:
        msg = f"job directory {directory} has no readable spec"
        raise LatentskyError(msg)
    opts = spec["options"]
    store = Store.open(spec["store"])
    device, described = _device(opts.get("device", "auto"))
    reporter.update(
        force=True, device=described, message=f"{spec['kind']} job on {described}"
    )
    log.info(
        "job %s: %s into version %s on %s",
        spec["job_id"],
        spec["kind"],
        opts["version"],
        described,
    )
    checkpoint, provenance = opts["checkpoint"], None
    if spec["kind"] == "finetune":
        checkpoint, provenance = _finetune(store, spec, device, reporter)
    if reporter.cancel_requested:
        raise JobCancelled
    _embed(store, checkpoint, staging, opts, device, reporter)
    if provenance is not None:
        _record_finetune(staging, provenance)


def run_worker(
    directory: str | os.PathLike[str], staging: str | os.PathLike[str]
) -> int:
    """Run the torch part of the job in ``directory``; returns the exit status.

    0 when the embeddings are written, :data:`EXIT_CANCELLED` when cancelled,
    :data:`EXIT_FAILED` on an error (its message as ``error`` in
    ``progress.json``).
    """
    directory, staging = Path(directory), Path(staging)
    reporter = Reporter(directory)

    def on_sigterm(signum: int, frame: Any) -> None:
        if reporter.cancel_requested:
            return  # already unwinding
        reporter.request_cancel()
        raise JobCancelled

    previous_handler = signal.signal(signal.SIGTERM, on_sigterm)
    reporter.heartbeat.start()
    try:
        _work(directory, staging, reporter)
        return 0
    except (JobCancelled, KeyboardInterrupt):
        log.info("worker of job %s stopped by a cancel", directory.name)
        return EXIT_CANCELLED
    except Exception as exc:  # noqa: BLE001 - every way out is reported
        if reporter.cancel_requested:
            return EXIT_CANCELLED
        log.exception("worker of job %s failed", directory.name)
        text = (
            str(exc)
            if isinstance(exc, LatentskyError)
            else f"{type(exc).__name__}: {exc}"
        )
        reporter.update(force=True, error=text)
        return EXIT_FAILED
    finally:
        signal.signal(signal.SIGTERM, previous_handler)
        reporter.heartbeat.stop()


def main(argv: list[str] | None = None) -> int:
    """Command-line entry: ``python -m models.worker JOBDIR STAGING``."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m models.worker JOBDIR STAGING", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    return run_worker(args[0], args[1])


if __name__ == "__main__":
    sys.exit(main())
