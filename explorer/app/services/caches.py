"""Caches shared by every session of a server, each bounded (least recently
used dropped first): map tables, cutout PNGs, similarity indexes."""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from explorer.app.data import MapData
from explorer.app.render.tiles import CutoutImages
from explorer.store.layout import INDEX, MAP
from explorer.store.location import store_path

log = logging.getLogger(__name__)

#: map tables kept (a 1M-source table and its KD-tree take ~200 MB)
MAX_MAPS = 4
#: stores whose cutout PNG cache is kept (each holds up to 4096 PNGs)
MAX_IMAGE_CACHES = 4
#: similarity indexes kept (a version's embeddings and FAISS index each)
MAX_INDEXES = 4
#: active-hunt relevance models kept (a few (N,) float64 arrays each)
MAX_HUNTS = 4

T = TypeVar("T")


class BoundedCache:
    """A thread-safe least-recently-used map of at most ``max_items`` values.

    Parameters
    ----------
    max_items : int
        Values kept; the least recently used one is dropped beyond that.
    """

    def __init__(self, max_items: int) -> None:
        self.max_items = int(max_items)
        self._items: OrderedDict[Hashable, Any] = OrderedDict()
        # one lock for making too: a value is built once, not once per session
        self._lock = threading.Lock()

    def get(self, key: Hashable, make: Callable[[], T], stamp: Any = None) -> T:
        """The value of ``key``, made by ``make()`` if missing or its ``stamp``
        changed (e.g. the modification time of the file it was read from)."""
        with self._lock:
            entry = self._items.get(key)
            if entry is None or entry[0] != stamp:
                entry = self._items[key] = (stamp, make())
            self._items.move_to_end(key)
            while len(self._items) > self.max_items:
                self._items.popitem(last=False)
            return entry[1]

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)


_MAPS = BoundedCache(MAX_MAPS)
_IMAGES = BoundedCache(MAX_IMAGE_CACHES)
_INDEXES = BoundedCache(MAX_INDEXES)
_HUNTS = BoundedCache(MAX_HUNTS)


def map_data(store, version: str) -> MapData:
    """The shared :class:`~explorer.app.data.MapData` of ``(store, version)``.

    Rebuilt when the version's map file changed on disk.
    """
    path = store_path(store.version_file(version, MAP))
    mtime = path.stat().st_mtime if path.exists() else 0.0

    def load() -> MapData:
        log.info("loading map of %s version %s", store.root, version)
        return MapData(store, version)

    return _MAPS.get((store_path(store.root).resolve(), version), load, stamp=mtime)


def cutout_images(store) -> CutoutImages:
    """The PNG cache of ``store``'s cutouts, shared by its sessions."""
    return _IMAGES.get(str(store.root), lambda: CutoutImages(store))


def similarity_index(store, version: str):
    """The shared :class:`explorer.analysis.neighbors.SimilarityIndex` of a version.

    Loads the version's FAISS index; builds one in memory when it is missing.
    """
    from explorer.analysis.neighbors import SimilarityIndex

    def load() -> SimilarityIndex:
        embeddings = store.embeddings(version)
        path = store.version_file(version, INDEX)
        if path.exists():
            return SimilarityIndex.load(path, embeddings, store.ids)
        log.warning("%s missing: building the similarity index in memory", path)
        return SimilarityIndex.build(embeddings, store.ids)

    return _INDEXES.get((str(store.root), version), load)


class SharedHunt:
    """An :class:`explorer.active.session.Hunt` shared by a server's sessions.

    ``lock`` guards the model: :meth:`Hunt.sync` updates it in place, so two
    sessions must not sync or read a half-updated model at once.
    """

    def __init__(self, hunt) -> None:
        self.hunt = hunt
        self.lock = threading.Lock()


def shared_hunt(store, version: str) -> SharedHunt:
    """The shared active hunt of ``(store, version)``, rebuilt when its map changed.

    Raises
    ------
    StoreError, DataError
        If the version has no embeddings or no ``anomaly_score``.
    """
    from explorer.active.session import Hunt

    path = store_path(store.version_file(version, MAP))
    mtime = path.stat().st_mtime if path.exists() else 0.0

    def load() -> SharedHunt:
        log.info("fitting the relevance model of %s version %s", store.root, version)
        return SharedHunt(Hunt.from_store(store, version))

    return _HUNTS.get((store_path(store.root).resolve(), version), load, stamp=mtime)
