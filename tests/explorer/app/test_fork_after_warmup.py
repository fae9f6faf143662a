"""A serving process forked after the warm-up (``serve --processes N``) can do
every kind of session work: nothing the warm-up started is missing in it.

The hazard is real: GNU OpenMP cannot be used in a child once its parent
ran a parallel region (FAISS searching in the parent, then in the child,
hangs), and a thread pool's workers do not survive a fork. The warm-up must
therefore stay clear of OpenMP, and the pools forget themselves in a child.
"""

from __future__ import annotations

import os
import time

import numpy as np
import pytest

pytestmark = pytest.mark.slow

CHILD_TIMEOUT_S = 120


def _session_work_in_child(store_root, version) -> None:
    from explorer.analysis.metrics import selection_metrics
    from explorer.app import services
    from explorer.app.services.caches import similarity_index
    from explorer.store import Store

    store = Store.open(store_root)
    data = services.map_data(store, version)
    similarity_index(store, version).similar(store.ids[:3], k=10)
    services.cutout_images(store).tiles(data.ids[:4], "lupton", 64)
    rows = np.arange(min(data.n, 50))
    pool = services.executor()
    pool.submit(selection_metrics, data.embeddings, rows, max_rest=200).result(60)
    services.hover_executor().submit(data.nearest, 0.0, 0.0, 1.0).result(60)


def test_a_child_forked_after_the_warm_up_does_session_work(analysed_store):
    from explorer.app.server import warm_up
    from explorer.store import Store

    store = Store.open(analysed_store)
    version = store.current_version
    warm_up(store, version)
    # the server's pools with live threads at the fork, as after any session
    from explorer.app import services

    for pool in (services.executor(), services.hover_executor()):
        pool.submit(int).result(10)
    pid = os.fork()
    if pid == 0:  # the child: exit status says whether the work finished
        code = 1
        try:
            _session_work_in_child(analysed_store, version)
            code = 0
        finally:
            os._exit(code)
    deadline = time.monotonic() + CHILD_TIMEOUT_S
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            assert os.waitstatus_to_exitcode(status) == 0
            return
        time.sleep(0.2)
    os.kill(pid, 9)
    os.waitpid(pid, 0)
    pytest.fail(
        f"the forked child did not finish its session work in {CHILD_TIMEOUT_S} s"
    )
