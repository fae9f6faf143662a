"""Process control of jobs: start the job process, reap, escalate a cancel.

A job runs as ``python -m explorer.jobs.pipeline JOBDIR`` in its own process
group, as a local subprocess or inside a dask task (:func:`run_job_process`)
on the worker machine: the same entry point either way.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from explorer.errors import DataError
from explorer.jobs.protocol import LOG, JobInfo, pid_alive, read_job

log = logging.getLogger(__name__)

#: The module a job's orchestration process runs.
PIPELINE_MODULE = "explorer.jobs.pipeline"

#: Seconds between SIGTERM and SIGKILL when cancelling.
CANCEL_GRACE_S = 20.0

# Popen objects of jobs started by this process, so their exit is reaped
# (a zombie would look alive to kill(pid, 0)).
CHILDREN: dict[int, subprocess.Popen] = {}
# The same processes by job id, so that waiting for a job also reaps it.
JOB_PROCESSES: dict[str, subprocess.Popen] = {}


def alive(pid: int | None, start_ticks: int | None = None) -> bool:
    """:func:`pid_alive`, also false for an exited child not yet reaped."""
    child = CHILDREN.get(pid or -1)
    if child is not None and child.poll() is not None:
        return False
    return pid_alive(pid, start_ticks)


def reap(job_id: str) -> None:
    """Wait for the exit of job ``job_id``'s process if this process started it.

    A job writes its terminal phase just before it exits; reaping it here
    keeps it from lingering as a zombie (or being reported still running).
    """
    proc = JOB_PROCESSES.pop(job_id, None)
    if proc is None:
        return
    try:
        proc.wait(timeout=CANCEL_GRACE_S)
    except subprocess.TimeoutExpired:
        log.warning("job %s wrote its final state but has not exited", job_id)


def kill_after(pid: int, start_ticks: int | None, timeout: float) -> None:
    """SIGKILL process group ``pid`` if it still runs after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive(pid, start_ticks):
            return
        time.sleep(0.2)
    log.warning("job process %d ignored SIGTERM for %.0f s: killing it", pid, timeout)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


# ------------------------------------------------------------ job processes
def job_environment() -> dict[str, str]:
    """Environment of a job process: this checkout importable, unbuffered output."""
    package_root = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (package_root, env.get("PYTHONPATH", "")) if p
    )
    env["PYTHONUNBUFFERED"] = "1"
    return env


def start_pipeline(directory: Path) -> subprocess.Popen:
    """Start ``python -m explorer.jobs.pipeline DIR``, output into the job log."""
    with open(directory / LOG, "ab") as log_file:
        return subprocess.Popen(
            [sys.executable, "-m", PIPELINE_MODULE, str(directory)],
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env=job_environment(),
            cwd=str(directory),
            start_new_session=True,  # own process group: cancel reaches the worker
        )


def run_job_process(directory: str) -> int:
    """Run a job to its end as a subprocess: the task a dask worker executes.

    The same entry point as a local job, so the job records its own pid and
    host in the lock and a cancel reaches it the same way.

    Returns
    -------
    int
        The job's exit status.
    """
    proc = start_pipeline(Path(directory))
    return proc.wait()


def wait_ended(
    running: JobInfo, pid: int | None, ticks: int | None, timeout: float
) -> bool:
    """Wait up to ``timeout`` s for the job's process (or its final state)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pid is not None and not alive(pid, ticks):
            return True
        if pid is None and (read_job(running.directory) or running).finished:
            return True
        time.sleep(0.1)
    return False


def kill_group(job_id: str, pid: int, ticks: int | None, timeout: float) -> None:
    """SIGKILL the job's process group and wait (up to 5 s) for it to go."""
    log.warning("job %s ignored SIGTERM for %.0f s: killing it", job_id, timeout)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    for _ in range(50):
        if not alive(pid, ticks):
            break
        time.sleep(0.1)


def embed_in_subprocess(
    command: list[str], cutouts: np.ndarray, timeout_s: float
) -> np.ndarray:
    """Run ``command IN.npy OUT.npy`` on ``cutouts``; the vectors it wrote.

    Parameters
    ----------
    command : list of str
        The embedding worker's command line, without the two file arguments.
    cutouts : ndarray
        ``(n, bands, S, S)`` float32.
    timeout_s : float
        Seconds before the subprocess is given up.

    Returns
    -------
    ndarray
        ``(n, D)`` float32.

    Raises
    ------
    DataError
        With the reason (the worker's last stderr line, or the timeout).
    """
    with tempfile.TemporaryDirectory(prefix="latentsky-upload-") as tmp:
        source, target = Path(tmp) / "cutouts.npy", Path(tmp) / "vectors.npy"
        np.save(source, np.asarray(cutouts, dtype=np.float32))
        try:
            result = subprocess.run(
                [*command, str(source), str(target)],
                capture_output=True,
                text=True,
                env={**os.environ, "OMP_NUM_THREADS": "1"},
                check=False,
                timeout=timeout_s,
            )
        except subprocess.TimeoutExpired as exc:
            msg = f"no result after {timeout_s:.0f} s"
            raise DataError(msg) from exc
        if result.returncode != 0:
            lines = (result.stderr or "no output").strip().splitlines()
            reason = lines[-1] if lines else f"exit status {result.returncode}"
            raise DataError(reason)
        return np.load(target).astype(np.float32, copy=False)
