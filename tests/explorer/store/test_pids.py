"""Writer liveness: a PID and its start time."""

from __future__ import annotations

import os
import subprocess
import sys

from explorer.store.pids import pid_alive, process_start_ticks


def test_pid_liveness():
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    assert not pid_alive(proc.pid)
    me = os.getpid()
    assert pid_alive(me, process_start_ticks(me))
    # the same PID with another start time is a reused PID, not our job
    assert not pid_alive(me, (process_start_ticks(me) or 0) + 12345)
    assert not pid_alive(None)
