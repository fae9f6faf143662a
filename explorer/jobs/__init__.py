"""Background re-embedding jobs: launched outside the dashboard, state on disk.

A job trains or fine-tunes the encoder and/or embeds the store into a new
version, in processes of its own, so the dashboard never imports torch:

- :mod:`explorer.jobs.protocol`: the job-directory files (spec, progress,
  log, cancel), :class:`JobInfo`, the lock's content; imports neither torch
  nor the runner, and is all the torch worker (``models/worker.py``) uses;
- :mod:`explorer.jobs.options`: validation of a job's options, and the one
  reader of a version's checkpoint (:func:`version_checkpoint`);
- :mod:`explorer.jobs.lock`: one job per store, stale locks recovered;
- :mod:`explorer.jobs.process` and :mod:`explorer.jobs.runner`: spawn, dask
  submission, cancel, status (:class:`JobRunner`), and the gateway functions
  to the torch side;
- :mod:`explorer.jobs.pipeline`: a job's orchestration process (worker,
  analysis, publish).

The names of the flat module this package replaced stay importable here.
"""

from explorer.jobs.lock import HEARTBEAT_STALE_S
from explorer.jobs.options import version_checkpoint
from explorer.jobs.process import CANCEL_GRACE_S
from explorer.jobs.protocol import (
    DEVICES,
    KINDS,
    PHASES,
    TERMINAL,
    JobInfo,
    cleanup_partial_version,
    pid_alive,
    process_start_ticks,
    read_job,
    write_progress,
)
from explorer.jobs.runner import JobRunner
from explorer.store.layout import (
    CANCEL,
    CHECKPOINTS,
    JOBS,
    LOCK,
    LOG,
    PROGRESS,
    SPEC,
)

__all__ = [
    "CANCEL",
    "CANCEL_GRACE_S",
    "CHECKPOINTS",
    "DEVICES",
    "HEARTBEAT_STALE_S",
    "JOBS",
    "KINDS",
    "LOCK",
    "LOG",
    "PHASES",
    "PROGRESS",
    "SPEC",
    "TERMINAL",
    "JobInfo",
    "JobRunner",
    "cleanup_partial_version",
    "pid_alive",
    "process_start_ticks",
    "read_job",
    "version_checkpoint",
    "write_progress",
]
