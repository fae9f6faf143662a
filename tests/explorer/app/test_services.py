"""The server-wide store watch: one poller, fanned out, released with sessions."""

from __future__ import annotations

import time

import numpy as np

from explorer.app.services import JobSnapshot, StoreWatch
from explorer.store.annotations import Annotations


class FakeDoc:
    """Stands in for a bokeh Document: runs next-tick callbacks at once."""

    session_context = None

    def __init__(self) -> None:
        self.calls = 0

    def add_next_tick_callback(self, callback) -> None:
        self.calls += 1
        callback()


def _wait_for(condition, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def test_one_poll_reaches_every_subscriber_and_only_changes(small_store_copy):
    watch = StoreWatch(small_store_copy, interval_s=3600)  # polled by hand below
    docs = [FakeDoc(), FakeDoc()]
    revisions: list[list[int]] = [[], []]
    jobs: list[list[JobSnapshot]] = [[], []]
    tokens = [
        watch.subscribe(doc, on_revision=revisions[i].append, on_job=jobs[i].append)
        for i, doc in enumerate(docs)
    ]
    _wait_for(lambda: all(revisions) and all(jobs))  # the thread's first poll
    assert revisions == [[0], [0]]
    assert jobs[0][0].info is None and jobs[0][0].error is None
    watch.poll()  # nothing changed: nothing delivered
    assert revisions == [[0], [0]] and len(jobs[0]) == 1

    Annotations(small_store_copy / "annotations.sqlite").save_cluster(
        "rings", np.array([1, 2, 3])
    )
    watch.poll()
    assert revisions[0][-1] == revisions[1][-1] > 0

    watch.unsubscribe(tokens[0])
    Annotations(small_store_copy / "annotations.sqlite").delete("rings")
    watch.poll()
    assert len(revisions[0]) == 2 and len(revisions[1]) == 3
    watch.unsubscribe(tokens[1])
    _wait_for(lambda: not watch.running)
    assert watch.n_subscribers == 0


def test_no_subscriber_no_thread(small_store_copy):
    watch = StoreWatch(small_store_copy, interval_s=0.01)
    assert not watch.running
    token = watch.subscribe(FakeDoc(), on_revision=lambda _: None)
    assert watch.running
    watch.unsubscribe(token)
    _wait_for(lambda: not watch.running)
    polls = watch.polls
    time.sleep(0.1)
    assert watch.polls == polls


def test_a_late_subscriber_gets_the_current_value_at_once(small_store_copy):
    watch = StoreWatch(small_store_copy, interval_s=3600)
    first: list[int] = []
    token = watch.subscribe(FakeDoc(), on_revision=first.append)
    _wait_for(lambda: first)
    late: list[int] = []
    watch.subscribe(FakeDoc(), on_revision=late.append)
    assert late == first
    watch.unsubscribe(token)
