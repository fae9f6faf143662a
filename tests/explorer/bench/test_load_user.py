"""The load drivers' shared parts, without a server."""

from __future__ import annotations

import asyncio
import threading
import time
from types import SimpleNamespace

import numpy as np

from explorer.app.client import _map
from explorer.bench.load_client import _count_in
from explorer.bench.load_user import SimulatedUser


def test_the_selection_count_is_read_from_the_grid_line():
    assert _count_in("<b>1,234</b> sources selected") == 1234
    assert _count_in("&lt;b&gt;7&lt;/b&gt; sources selected") == 7
    assert _count_in("No selection: draw a box or lasso on the map.") is None


def test_events_carry_plain_mappings_as_bokehjs_does():
    assert _map(type="rect", x0=1.0) == {
        "type": "map",
        "entries": [["type", "rect"], ["x0", 1.0]],
    }


def test_each_box_holds_what_it_says_and_differs_from_the_last():
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=500), rng.normal(size=500)
    user = SimulatedUser(0, SimpleNamespace(x=x, y=y, n=500), np.random.default_rng(0))
    previous = None
    for _ in range(20):
        (x0, y0, x1, y1), expected = user.random_box(4.0)
        inside = int(((x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)).sum())
        assert inside == expected > 0
        assert expected != previous
        assert 0.16 <= x1 - x0 <= 0.48 + 1e-12  # 4-12 % of the span
        previous = expected


def test_a_box_missed_by_its_margin_cannot_hold_the_previous_count():
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=20_000), rng.normal(size=20_000)  # dense: edges matter
    user = SimulatedUser(
        0, SimpleNamespace(x=x, y=y, n=20_000), np.random.default_rng(1)
    )
    margin = 0.01
    previous: set[int] = set()
    for _ in range(20):
        (x0, y0, x1, y1), expected = user.random_box(4.0, margin=margin)
        possible = set()
        for d in np.linspace(-margin, margin, 9):  # the box the page may draw
            inside = (x >= x0 - d) & (x <= x1 + d) & (y >= y0 - d) & (y <= y1 + d)
            possible.add(int(inside.sum()))
        assert expected in possible
        assert not possible & previous
        previous = possible


class _Recorder(SimulatedUser):
    """A user whose steps only record when they happened."""

    def __init__(self, think_s: float) -> None:
        data = SimpleNamespace(x=np.zeros(1), y=np.zeros(1), n=1)
        super().__init__(0, data, np.random.default_rng(1), think_s)
        self.at: list[tuple[str, float]] = []

    async def hover(self) -> None:
        self.at.append(("hover", time.perf_counter()))

    async def select(self) -> None:
        self.at.append(("select", time.perf_counter()))

    async def save(self, name: str) -> None:
        self.at.append(("save", time.perf_counter()))


def _run(user: SimulatedUser, seconds: float) -> None:
    """``user.work`` in a thread of its own: the browser tests of the same
    pytest process leave an event loop running in the main thread."""
    worker = threading.Thread(
        target=lambda: asyncio.run(user.work("t", time.perf_counter() + seconds))
    )
    worker.start()
    worker.join()


def test_a_thinking_user_pauses_after_every_step_and_a_stressing_one_does_not():
    paced, stress = _Recorder(0.02), _Recorder(0.0)
    _run(paced, 0.05)
    steps = [name for name, _ in paced.at[:5]]
    assert steps == ["hover", "hover", "hover", "select", "save"]
    gaps = np.diff([t for _, t in paced.at])
    assert gaps.min() >= 0.5 * 0.02 - 1e-3  # the pause is jittered by +-50 %
    _run(stress, 0.01)
    assert len(stress.at) > 5 * len(paced.at) or len(stress.at) > 100
