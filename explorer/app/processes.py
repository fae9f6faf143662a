"""Serving from several processes: what Bokeh's ``num_procs`` fork needs.

One server process is bound by its interpreter lock: at 20 busy users the
event loop (Bokeh's message handling, Panel's patches) holds about one core
however many the machine has. With ``latentsky serve --processes N`` the
warm-up runs once, then Bokeh binds the port and forks ``N`` serving
processes that share the listening socket (tornado's ``fork_processes``);
the kernel hands each new connection to one of them. A page's websocket
may land on another process than its HTML: Bokeh then creates the session there
(``create_session_if_needed``), so no affinity is needed. Everything sessions
share across processes already lives in the store (annotations in SQLite,
the job's files), and each process watches it (:mod:`.services.watch`).

This module makes the fork safe and the processes stop together:

- the warm-up runs before the fork, so each process starts with the map
  loaded and the kernels compiled (shared copy-on-write pages), but the
  thread pools it may have started are not inherited: each module that
  holds one forgets it in the child (``os.register_at_fork``);
- the parent only waits for its children; SIGINT and SIGTERM sent to it are
  forwarded to them, and each child is told by the kernel to stop when the
  parent dies (``PR_SET_PDEATHSIG``), so no serving process outlives it.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
from pathlib import Path

log = logging.getLogger(__name__)

#: prctl option: the signal a process receives when its parent exits (Linux)
_PR_SET_PDEATHSIG = 1


def children_of(pid: int) -> list[int]:
    """The live child processes of ``pid`` (Linux ``/proc``; [] elsewhere).

    Parameters
    ----------
    pid : int
        A process id.

    Returns
    -------
    list of int
    """
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            found.extend(int(p) for p in task.read_text().split())
        except OSError:  # the task ended meanwhile
            continue
    return found


def _die_with_parent() -> None:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):  # not Linux: the parent's forwarding only
        log.debug("no PR_SET_PDEATHSIG here")


def prepare_fork(processes: int) -> None:
    """Before Bokeh forks ``processes`` servers: stop them with this process.

    In this (the waiting) process SIGINT and SIGTERM are forwarded to every
    child; each child asks the kernel for SIGTERM if this process dies.
    Nothing happens for ``processes <= 1``.

    Parameters
    ----------
    processes : int
        Serving processes about to be forked.
    """
    if processes <= 1:
        return
    parent = os.getpid()

    def forward(signum: int, _frame) -> None:
        for child in children_of(parent):
            try:
                os.kill(child, signum)
            except ProcessLookupError:
                continue

    def in_child() -> None:
        # the child installs its own stop handlers on its event loop
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, signal.SIG_DFL)
        _die_with_parent()

    os.register_at_fork(after_in_child=in_child)
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, forward)
