"""A simulated user that speaks the Bokeh protocol to the real server.

Twenty headless chromium pages on the server's own two cores measure
chromium: in the browser variant of ``bench load`` the pages took 1.4 of the
2 cores and the server 0.4. A user's browser runs on the user's machine, so
the server's latency is measured here with a light client instead
(:class:`explorer.app.client.BokehUser`): one
websocket per user (the same ``/ws`` endpoint and messages as BokehJS), the
session's document pulled and kept in sync from the server's ``PATCH-DOC``
messages, and the UI events a browser would send (``mousemove``,
``selectiongeometry``, ``button_click``, a text input's value) sent as the
same JSON. A step's latency is from sending the event to the patch that shows
its result (the hover caption; the selection count *and* the grid's new
tiles; the "saved" line).
"""

from __future__ import annotations

import asyncio
import time

from explorer.app.client import BokehUser, register_models
from explorer.bench.load_user import SimulatedUser


def _count_in(text: str) -> int | None:
    """The number in the selection line "<b>1,234</b> sources selected"."""
    import re

    found = re.search(r"([\d,]+)\D*sources selected", text or "")
    return int(found.group(1).replace(",", "")) if found else None


class ClientSession(SimulatedUser):
    """One simulated user's loop: hover, box-select, save (as the browser run).

    Parameters
    ----------
    index : int
        The user's number (in cluster names).
    user : BokehUser
        Its connection.
    data : explorer.app.data.MapData
        The served map (where the sources are).
    rng : numpy.random.Generator
        Where it hovers and selects.
    step_timeout_s : float
        Longest wait for one step's result.
    """

    def __init__(self, index: int, user: BokehUser, data, rng, step_timeout_s: float):
        super().__init__(index, data, rng)
        self.user = user
        self.timeout_s = step_timeout_s

    async def open(self) -> float:
        """Connect and receive the page (seconds)."""
        start = time.perf_counter()
        await self.user.open()
        self.figure = self.user.map_figure()
        self.caption = self.user.one("HTML", "hover-caption")
        self.count = self.user.one("HTML", "selection-count")
        self.grid = self.user.one("ReactiveESM", "selection-grid").data
        (self.clear,) = [b for b in self.user.find("Button") if b.label == "Clear"]
        self.name = self.user.one("TextInput", "quick-name")
        self.button = self.user.one("Button", "quick-save")
        self.saved_line = self.user.one("HTML", "quick-saved")
        return time.perf_counter() - start

    async def hover(self) -> None:
        row = int(self.rng.integers(self.data.n))
        old = self.caption.text
        start = time.perf_counter()
        await self.user.hover(
            self.figure, float(self.data.x[row]), float(self.data.y[row])
        )
        try:
            await self.user.wait_for(lambda: self.caption.text != old, 3.0)
        except TimeoutError:
            return  # the nearest source was already shown (as the browser run)
        self.hover_s.append(time.perf_counter() - start)

    async def select(self) -> None:
        x, y = self.data.x, self.data.y
        box, expected = self.random_box(
            min(float(x.max() - x.min()), float(y.max() - y.min()))
        )
        # cleared first, so that the new page's tiles are told from the last
        await self.user.click(self.clear)
        await self.user.wait_for(
            lambda: _count_in(self.count.text) is None and not self.grid.items,
            self.timeout_s,
        )
        start = time.perf_counter()
        await self.user.box_select(self.figure, box)
        # done when the count is right and the grid shows the new page's tiles
        await self.user.wait_for(
            lambda: _count_in(self.count.text) == expected and bool(self.grid.items),
            self.timeout_s,
        )
        self.selection_s.append(time.perf_counter() - start)
        self.selection_counts.append(expected)

    async def save(self, name: str) -> None:
        await self.user.set_value(self.name, value_input=name, value=name)
        start = time.perf_counter()
        await self.user.click(self.button)
        await self.user.wait_for(lambda: name in self.saved_line.text, self.timeout_s)
        self.save_s.append(time.perf_counter() - start)
        self.saved.append(name)


async def run_count(
    url: str,
    data,
    n: int,
    duration_s: float,
    tag: str,
    step_timeout_s: float,
    think_s: float = 0.0,
) -> dict:
    """``n`` concurrent Bokeh-client users for ``duration_s`` seconds, each
    pausing ``think_s`` after every step.

    Returns
    -------
    dict
        ``{"open_s": [...], "sessions": [ClientSession, ...]}``.
    """
    import numpy as np

    register_models()
    ws_url = url.replace("http://", "ws://").rstrip("/") + "/ws"
    sessions = [
        ClientSession(
            i,
            BokehUser(ws_url),
            data,
            np.random.default_rng(1000 * n + i),
            step_timeout_s,
        )
        for i in range(n)
    ]
    for session in sessions:
        session.think_s = think_s
    opened = await asyncio.gather(*(s.open() for s in sessions), return_exceptions=True)
    open_s = []
    for session, result in zip(sessions, opened, strict=True):
        if isinstance(result, BaseException):
            session.errors.append(f"open: {type(result).__name__}: {result}")
        else:
            open_s.append(result)
    live = [
        s
        for s, r in zip(sessions, opened, strict=True)
        if not isinstance(r, BaseException)
    ]
    until = time.perf_counter() + duration_s
    await asyncio.gather(*(s.work(tag, until) for s in live))
    await asyncio.gather(*(s.user.close() for s in live))
    return {"open_s": open_s, "sessions": sessions}


__all__ = ["BokehUser", "ClientSession", "run_count"]
