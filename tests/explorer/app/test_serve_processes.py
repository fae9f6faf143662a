"""``latentsky serve --processes N``: forked serving processes that stop together."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from explorer.app.processes import children_of

LATENTSKY = str(Path(sys.executable).with_name("latentsky"))


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split()[2]
    except OSError:
        return False
    return state != "Z"  # a zombie has exited


def _wait_until(condition, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


def test_children_of_lists_a_child_until_it_is_reaped():
    child = subprocess.Popen(["sleep", "30"])
    try:
        assert child.pid in children_of(os.getpid())
    finally:
        child.kill()
        child.wait()
    assert child.pid not in children_of(os.getpid())
    assert children_of(2**22 + 1) == []  # no such process


def test_show_with_processes_is_a_one_line_error(analysed_store):
    done = subprocess.run(
        [LATENTSKY, "serve", str(analysed_store), "--processes", "2", "--show"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert "--show" in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_to_the_parent_stops_every_serving_process(
    analysed_store, start_server, signum
):
    # warmed before the fork: no process is still building a first page when
    # the signal comes (a stop waits for the callback holding the loop)
    server = start_server(analysed_store, "--processes", "2")
    serving = children_of(server.process.pid)
    assert len(serving) == 2
    server.process.send_signal(signum)
    try:
        code = server.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{signal.Signals(signum).name} did not stop the server in 15 s")
    assert code == 0, server.log_text()[-2000:]
    assert _wait_until(lambda: not any(_alive(pid) for pid in serving), 5)
    log = server.log_text()
    assert log.count(f"{signal.Signals(signum).name}: stopping") == 2
    assert "all 2 serving processes stopped" in log
    assert "Traceback" not in log


@pytest.mark.slow
def test_serving_processes_do_not_outlive_a_killed_parent(analysed_store, start_server):
    server = start_server(analysed_store, "--no-warmup", "--processes", "2")
    serving = children_of(server.process.pid)
    assert len(serving) == 2
    server.process.kill()
    server.process.wait(timeout=10)
    # the kernel sends each child SIGTERM when its parent dies
    assert _wait_until(lambda: not any(_alive(pid) for pid in serving), 10)
