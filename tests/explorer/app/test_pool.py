"""The server's pools: one of each per process, work handed back to the session's
loop, and the spinner counting only the work that asks for it."""

from __future__ import annotations

import threading
from concurrent.futures import wait

import pytest

from explorer.app import services
from explorer.app.services import busy


class _ServedDoc:
    """What run_off_loop needs of a served document: a session and a loop."""

    session_context = object()

    def __init__(self) -> None:
        self.ticks: list = []

    def add_next_tick_callback(self, callback) -> None:
        self.ticks.append(callback)

    def run_ticks(self) -> None:
        while self.ticks:
            self.ticks.pop(0)()


@pytest.mark.parametrize(
    ("get", "prefix", "workers"),
    [
        (services.executor, "app", 3),
        (services.metrics_executor, "app-metrics", 1),
        (services.hover_executor, "hover", 1),
    ],
)
def test_each_pool_is_made_once_per_server(get, prefix, workers):
    pool = get()
    assert get() is pool
    assert pool._max_workers == workers
    name = pool.submit(lambda: threading.current_thread().name).result()
    assert name.startswith(prefix + "_")


def test_work_runs_in_the_given_pool_and_is_delivered_on_the_loop():
    doc, got = _ServedDoc(), []
    future = services.run_off_loop(
        doc,
        lambda: threading.current_thread().name,
        got.append,
        pytest.fail,
        pool=services.hover_executor(),
        spinner=False,
    )
    wait([future])
    assert got == []  # not before the session's loop runs it
    doc.run_ticks()
    assert len(got) == 1 and got[0].startswith("hover_")


def test_the_spinner_counts_only_work_that_asks_for_it():
    doc = _ServedDoc()
    tracker = busy.attach(doc)
    release = threading.Event()
    quiet = services.run_off_loop(
        doc, release.wait, lambda _: None, pytest.fail, spinner=False
    )
    assert tracker.pending == 0
    loud = services.run_off_loop(doc, release.wait, lambda _: None, pytest.fail)
    assert tracker.pending == 1 and tracker.indicator.value
    release.set()
    wait([quiet, loud])
    doc.run_ticks()
    assert tracker.pending == 0 and not tracker.indicator.value


def test_outside_a_session_everything_runs_inline():
    got, errors = [], []
    assert services.run_off_loop(None, lambda: 42, got.append, errors.append) is None
    assert got == [42] and errors == []

    def boom():
        raise ValueError("bad")

    services.run_off_loop(None, boom, got.append, errors.append)
    assert isinstance(errors[0], ValueError)
