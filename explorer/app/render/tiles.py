"""A thread-safe LRU cache of rendered cutout PNGs, shared by a server's sessions."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np

from explorer.app.render.images import cutout_png
from explorer.app.render.settings import DisplaySettings


class CutoutImages:
    """PNG renderings of a store's cutouts with a thread-safe LRU cache.

    Parameters
    ----------
    store : explorer.store.Store
        Source of cutouts (read by id).
    max_items : int
        Number of PNGs kept (a 160 px PNG is ~20-60 kB).
    """

    def __init__(self, store, max_items: int = 4096) -> None:
        self.store = store
        self.max_items = int(max_items)
        self._cache: OrderedDict[tuple, bytes] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def png(
        self,
        source_id: int,
        settings: DisplaySettings | str = "lupton",
        size: int | None = 128,
    ) -> bytes:
        """PNG bytes of source ``source_id`` (cached by id, settings and size;
        ``size=None`` keeps the cutout's own resolution).

        Raises
        ------
        explorer.errors.StoreError
            If the id is not in the store.
        ValueError
            For an unknown stretch or band.
        """
        settings = DisplaySettings.coerce(settings)
        key = (int(source_id), settings, None if size is None else int(size))
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                self.hits += 1
                return self._cache[key]
        cutout = self.store.cutout(int(source_id))
        data = cutout_png(cutout, self.store.bands, settings, size)
        with self._lock:
            self.misses += 1
            self._cache[key] = data
            self._trim()
        return data

    def many(
        self,
        ids: Sequence[int],
        settings: DisplaySettings | str = "lupton",
        size: int | None = 96,
    ) -> list[bytes]:
        """PNGs of several sources; uncached cutouts are read in one batch."""
        settings = DisplaySettings.coerce(settings)
        ids = [int(i) for i in ids]
        size = None if size is None else int(size)
        with self._lock:
            missing = [i for i in ids if (i, settings, size) not in self._cache]
        if missing:
            rows = self.store.rows_of(missing)
            order = np.argsort(rows)
            block = self.store.cutouts_at(rows[order])
            rendered = {
                missing[k]: cutout_png(block[pos], self.store.bands, settings, size)
                for pos, k in enumerate(order)
            }
            with self._lock:
                for i, data in rendered.items():
                    self._cache[(i, settings, size)] = data
                    self.misses += 1
                self._trim()
        return [self.png(i, settings, size) for i in ids]

    def tiles(
        self,
        ids: Sequence[int],
        settings: DisplaySettings | str = "lupton",
        size: int = 96,
    ) -> list[bytes]:
        """PNGs for gallery tiles of ``size`` CSS pixels.

        A cutout no larger than the tile is encoded at its own resolution:
        the gallery scales it up with ``image-rendering: pixelated``, which
        looks the same as nearest-neighbour upscaling here and costs the
        server fewer pixels to encode and send. A larger one is scaled down.
        """
        native = self.store.cutout_size <= size
        return self.many(ids, settings, None if native else size)

    def _trim(self) -> None:
        while len(self._cache) > self.max_items:
            self._cache.popitem(last=False)


__all__ = ["CutoutImages"]
