"""What both drivers of ``bench load`` share: a simulated user's loop.

A user hovers three times, box-selects, saves the selection as a uniquely
named cluster, and starts again until the time is up; the first failure ends
its loop and is reported. With a think time, it pauses that long after each
step (as a person looks at what appeared); without, it is a stress test. The
browser driver (:mod:`explorer.bench.load`) and the Bokeh-protocol driver
(:mod:`explorer.bench.load_client`) implement the three steps; the timings,
the choice of boxes and the loop are here.
"""

from __future__ import annotations

import asyncio
import time

import numpy as np


class SimulatedUser:
    """One user's timings and loop; subclasses implement the steps.

    Parameters
    ----------
    index : int
        The user's number (in the names of the clusters it saves).
    data : explorer.app.data.MapData
        The served map (where the sources are).
    rng : numpy.random.Generator
        Where it hovers and selects.
    think_s : float
        Pause after each step, in seconds (not counted in any latency).
    """

    def __init__(
        self, index: int, data, rng: np.random.Generator, think_s: float = 0.0
    ) -> None:
        self.index = index
        self.think_s = float(think_s)
        self.data = data
        self.rng = rng
        self.hover_s: list[float] = []
        self.selection_s: list[float] = []
        self.save_s: list[float] = []
        self.selection_counts: list[int] = []
        self.saved: list[str] = []
        self.errors: list[str] = []
        self._bounds = (-1, -1)  # what the previous box could select

    def random_box(
        self, span: float, margin: float = 0.0
    ) -> tuple[tuple[float, float, float, float], int]:
        """A square around a random source, 4-12 % of ``span`` wide, that the
        page cannot show with the previous box's count (so the page changes).

        Parameters
        ----------
        span : float
            The width of the view, in map units.
        margin : float
            How far the drawn box may miss this one (a browser's mouse lands
            on whole pixels). The number of sources inside the square shrunk
            and grown by ``margin`` bounds what the page selects; a square is
            taken only when these bounds do not overlap the previous box's.

        Returns
        -------
        tuple
            ``((x0, y0, x1, y1), number of sources inside)``.
        """
        x, y = self.data.x, self.data.y

        def count(x0: float, y0: float, x1: float, y1: float) -> int:
            return int(((x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)).sum())

        inward = np.array([margin, margin, -margin, -margin])
        low, high = self._bounds
        while True:
            row = int(self.rng.integers(self.data.n))
            half = span * float(self.rng.uniform(0.02, 0.06))
            box = np.array([x[row] - half, y[row] - half, x[row] + half, y[row] + half])
            fewest, most = count(*(box + inward)), count(*(box - inward))
            if fewest > 0 and (most < low or fewest > high):
                self._bounds = (fewest, most)
                return tuple(float(v) for v in box), count(*box)

    async def hover(self) -> None:
        """Hover a random source; time until its caption is shown."""
        raise NotImplementedError

    async def select(self) -> None:
        """Box-select; time until the selection is shown."""
        raise NotImplementedError

    async def save(self, name: str) -> None:
        """Save the selection as cluster ``name``; time until it is confirmed."""
        raise NotImplementedError

    async def think(self) -> None:
        """Pause :attr:`think_s` seconds (jittered +-50 %, so that users do not
        act in lockstep)."""
        if self.think_s > 0:
            await asyncio.sleep(self.think_s * float(self.rng.uniform(0.5, 1.5)))

    async def work(self, tag: str, until: float) -> None:
        """Hover three times, select, save; again until ``until``
        (``time.perf_counter``)."""
        i, step = 0, "hover"
        while time.perf_counter() < until:
            try:
                step = "hover"
                for _ in range(3):
                    await self.hover()
                    await self.think()
                step = "select"
                await self.select()
                await self.think()
                step = "save"
                await self.save(f"load-{tag}-s{self.index}-{i}")
                await self.think()
            except Exception as exc:  # noqa: BLE001 - counted, reported
                self.errors.append(f"{step}: {type(exc).__name__}: {str(exc)[:200]}")
                return
            i += 1


__all__ = ["SimulatedUser"]
