"""Wall time, peak resident memory and load of the scale benchmark's stages.

Memory is sampled (psutil, every :data:`SAMPLE_S` seconds) over a process
*and all its descendants*, summed, so a command's data-loader workers or a
server's helpers count; the peak of a stage is the largest such sum seen while
it ran. A sampled peak can miss a spike shorter than the interval, so the
child's own exact peak (``ru_maxrss`` of the finished process tree, from
``wait4``) is recorded beside it.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import psutil

log = logging.getLogger(__name__)

#: seconds between two memory samples
SAMPLE_S = 0.1
MIB = 2**20


def load_average() -> list[float]:
    """``os.getloadavg()`` (1, 5, 15 min) rounded, the machine is shared."""
    return [round(value, 2) for value in os.getloadavg()]


def tree_rss(processes: Sequence[psutil.Process]) -> int:
    """Resident bytes of ``processes`` and all their descendants, summed."""
    seen: dict[int, psutil.Process] = {}
    for process in processes:
        try:
            for member in [process, *process.children(recursive=True)]:
                seen[member.pid] = member
        except psutil.Error:
            continue  # it exited between two samples
    total = 0
    for member in seen.values():
        try:
            total += member.memory_info().rss
        except psutil.Error:
            continue
    return total


class RssSampler:
    """Samples the summed RSS of some process trees in a background thread.

    Parameters
    ----------
    roots : callable
        Returns the processes to sample (their descendants are added), asked
        anew at each sample so that processes started later are seen.
    interval : float
        Seconds between samples.
    """

    def __init__(
        self, roots: Callable[[], Sequence[psutil.Process]], interval: float = SAMPLE_S
    ) -> None:
        self.roots = roots
        self.interval = interval
        #: ``(unix time, bytes)`` of every sample
        self.samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append((time.time(), tree_rss(self.roots())))
            self._stop.wait(self.interval)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.samples.append((time.time(), tree_rss(self.roots())))

    def peak_mib(self, start: float = 0.0, stop: float = float("inf")) -> float | None:
        """Largest sample between unix times ``start`` and ``stop``, in MiB."""
        inside = [rss for t, rss in self.samples if start <= t <= stop]
        return round(max(inside) / MIB, 1) if inside else None


def read_marks(path: Path) -> list[tuple[float, str]]:
    """``(unix time, name)`` lines written by :mod:`explorer.bench.scale_stage`."""
    if not path.is_file():
        return []
    marks = []
    for line in path.read_text().splitlines():
        stamp, _, name = line.partition(" ")
        marks.append((float(stamp), name))
    return marks


def split_steps(
    marks: list[tuple[float, str]], sampler: RssSampler
) -> dict[str, dict[str, Any]]:
    """Seconds and peak RSS of each marked step (from one mark to the next)."""
    steps = {}
    for (t0, _), (t1, name) in zip(marks, marks[1:], strict=False):
        steps[name] = {
            "wall_s": round(t1 - t0, 3),
            "peak_rss_mib": sampler.peak_mib(t0, t1),
        }
    return steps


def run_stage(
    name: str, command: Sequence[str], work: Path, timeout_s: float | None = None
) -> dict[str, Any]:
    """Run ``latentsky COMMAND...`` as a child process and measure it.

    Parameters
    ----------
    name : str
        Stage name (names its log and marks files in ``work``).
    command : sequence of str
        The ``latentsky`` arguments, e.g. ``["ingest", "a.fits", "store"]``.
    work : pathlib.Path
        Folder for ``<name>.log`` (stdout and stderr) and ``<name>.marks``.
    timeout_s : float, optional
        Kill the stage after this many seconds (recorded as failed).

    Returns
    -------
    dict
        ``wall_s`` (spawn to exit, imports included), ``peak_rss_mib``
        (sampled tree), ``maxrss_mib`` (the kernel's exact peak of the largest
        process of the tree), ``load_before``/``load_after``, ``ok``, ``steps``
        (marked steps, see :func:`split_steps`) and, on failure, ``error`` (the
        log's last line).
    """
    log_path, marks_path = work / f"{name}.log", work / f"{name}.marks"
    marks_path.unlink(missing_ok=True)
    argv = [sys.executable, "-m", "explorer.bench.scale_stage", str(marks_path), "--"]
    record: dict[str, Any] = {"command": ["latentsky", *command]}
    record["load_before"] = load_average()
    log.info("stage %s: latentsky %s", name, " ".join(command))
    with open(log_path, "wb") as out:
        start = time.perf_counter()
        process = subprocess.Popen([*argv, *command], stdout=out, stderr=out)
        child = psutil.Process(process.pid)
        with RssSampler(lambda: [child]) as sampler:
            try:
                _, status, usage = _wait(process, timeout_s)
            except subprocess.TimeoutExpired:
                process.kill()
                _, status, usage = os.wait4(process.pid, 0)
                record["error"] = f"killed after {timeout_s} s"
        wall = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    record.update(
        wall_s=round(wall, 2),
        peak_rss_mib=sampler.peak_mib(),
        maxrss_mib=round(usage.ru_maxrss / 1024, 1),
        load_after=load_average(),
        ok=code == 0 and "error" not in record,
        steps=split_steps(read_marks(marks_path), sampler),
    )
    if code != 0 and "error" not in record:
        lines = log_path.read_text(errors="replace").strip().splitlines()
        record["error"] = f"exit {code}: {lines[-1] if lines else '(no output)'}"
    return record


def _wait(process: subprocess.Popen, timeout_s: float | None) -> tuple[int, int, Any]:
    """``os.wait4`` of ``process`` (its resource usage), with a timeout."""
    deadline = None if timeout_s is None else time.perf_counter() + timeout_s
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            process.returncode = os.waitstatus_to_exitcode(status)
            return pid, status, usage
        if deadline is not None and time.perf_counter() > deadline:
            raise subprocess.TimeoutExpired(process.args, timeout_s)
        time.sleep(0.05)
