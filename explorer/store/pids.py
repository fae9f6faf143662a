"""Is the process that wrote this still running? (PID plus start time, Linux /proc.)

Temporary names of the store and the job lock record a writer's PID; these
tell a live writer from a dead one, and a PID reused by an unrelated process
(its start time differs) from the original.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


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
