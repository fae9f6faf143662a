"""``latentsky ingest --dask``: cutout shards read, filled and written by tasks.

One task per Zarr shard of ``cutouts.zarr``
(:data:`explorer.store.layout.SHARD_SOURCES` sources, the unit a writer owns
whole: two tasks never write the same shard file). Each task opens the
survey itself (once per worker process), reads its rows, fills NaN/inf
pixels (:func:`explorer.ingest.nanfill.fill_nonfinite`) and writes them into
the cutout array of the building directory; it returns the ``n_masked``
counts. The lead process writes the catalogue once, the manifest, and
renames the building directory onto the store (the
:class:`explorer.store.StoreBuilder` guarantee: a failed task leaves no
store behind). The result is the store of :func:`explorer.ingest.ingest`,
byte for byte.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from explorer.distributed.cluster import worker_path
from explorer.distributed.embed import blocks
from explorer.errors import StoreError
from explorer.ingest.core import check_losses, open_survey, survey_builder
from explorer.ingest.nanfill import fill_nonfinite
from explorer.ingest.survey import Survey
from explorer.store import Store, StoreBuilder, layout

log = logging.getLogger(__name__)

#: The survey this worker process has open, by (src, catalog, mtime, size).
_SURVEYS: dict[tuple[str, str | None, int, int], Survey] = {}


class ShardedStoreBuilder(StoreBuilder):
    """A :class:`StoreBuilder` whose cutout shards are written by other processes.

    :meth:`reserve` sizes the cutout array of the building directory and
    returns its path; tasks write whole shards into it; :meth:`set_catalog`
    hands over the catalogue. Publishing (catalogue, manifest, rename) is
    the parent's ``__exit__``.
    """

    def reserve(self, n: int) -> str:
        """Size the cutout array to ``n`` sources; the path tasks write to.

        Raises
        ------
        StoreError
            If called outside the ``with`` block.
        """
        if self._array is None or self._tmp is None:
            raise StoreError("ShardedStoreBuilder.reserve called outside `with`")
        self._array.resize((n, *self._array.shape[1:]))
        return str(self._tmp / layout.CUTOUTS)

    def set_catalog(self, catalog: Any, n_written: int) -> None:
        """The whole catalogue (``n_written`` rows, written by the tasks)."""
        self._catalogs = [catalog.reset_index(drop=True)]
        self._n = int(n_written)


def _survey(src: str, catalog: str | None) -> Survey:
    """The survey opened once per worker process (the readers parse headers)."""
    stat = Path(src).stat()
    key = (src, catalog, stat.st_mtime_ns, stat.st_size)
    if key not in _SURVEYS:
        for old in _SURVEYS.values():  # a new survey (or a rewritten file)
            old.close()
        _SURVEYS.clear()
        _SURVEYS[key] = open_survey(Path(src), catalog=catalog)
    return _SURVEYS[key]


def write_shard(
    src: str,
    catalog: str | None,
    cutouts_path: str,
    start: int,
    stop: int,
    shape: tuple[int, int, int],
) -> np.ndarray:
    """Task: read rows ``start:stop`` of the survey, fill them, write them.

    Parameters
    ----------
    src, catalog : str
        The survey and its optional catalogue file, as given to ingest.
    cutouts_path : str
        The cutout array in the building directory.
    start, stop : int
        Rows; ``start`` is a multiple of the shard size.
    shape : (bands, S, S)
        Expected cutout shape.

    Returns
    -------
    ndarray
        ``(stop - start,)`` int32 pixels replaced per source (``n_masked``).

    Raises
    ------
    StoreError
        If the survey gives blocks of another shape or unfillable pixels.
    """
    import zarr

    block, n_masked = fill_nonfinite(_survey(src, catalog).read(start, stop))
    if block.shape != (stop - start, *shape):
        want = ", ".join(map(str, shape))
        msg = f"cutout chunk has shape {block.shape}, expected (n, {want})"
        raise StoreError(msg)
    if not np.isfinite(block).all():
        raise StoreError("cutout chunk holds NaN/inf pixels; fill them before writing")
    zarr.open_array(cutouts_path, mode="r+")[start:stop] = block
    return n_masked


def ingest_on_dask(
    client: Any,
    src: str | os.PathLike[str],
    store_root: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    force: bool = False,
    catalog: str | os.PathLike[str] | None = None,
    progress: bool = True,
) -> Store:
    """:func:`explorer.ingest.ingest` with one dask task per cutout shard.

    Parameters
    ----------
    client : distributed.Client
        Connected client; its workers must see ``src`` and ``store_root``.
    src, store_root, overwrite, force, catalog, progress
        As for :func:`explorer.ingest.ingest` (the step is the shard, so
        there is no ``chunk``).

    Returns
    -------
    Store
        The opened new store.

    Raises
    ------
    IngestError, StoreError
        As :func:`explorer.ingest.ingest`; a task's error is re-raised here.
    """
    given, src = Path(src), worker_path(src, "survey")
    store_root = worker_path(store_root)
    if overwrite:
        check_losses(store_root, force)
    catalog_text = None if catalog is None else str(worker_path(catalog, "catalogue"))
    started = time.perf_counter()
    # the lead opens the path as given: the manifest records it as ingest does
    with contextlib.closing(open_survey(given, catalog=catalog)) as survey:
        table, builder = survey_builder(
            survey, store_root, overwrite=overwrite, kind=ShardedStoreBuilder
        )
        n, shape = survey.n, (len(survey.bands), survey.size, survey.size)
    with builder:
        path = builder.reserve(n)
        args = (str(src), catalog_text, path)
        bounds = blocks(n, layout.SHARD_SOURCES)  # one task per shard
        futures = [
            client.submit(write_shard, *args, a, b, shape, pure=False)
            for a, b in bounds
        ]
        masked = _gather(client, futures, n, progress, f"ingest {given.name}")
        table = table.reset_index(drop=True).copy()
        table["n_masked"] = np.concatenate(masked)
        builder.set_catalog(table, n)
    store = builder.store
    assert store is not None
    elapsed = time.perf_counter() - started
    log.info(
        "ingested %d sources from %s into %s on dask in %.1f s (%d tasks)",
        n,
        src,
        store.root,
        elapsed,
        len(bounds),
    )
    return store


def _gather(
    client: Any, futures: list, n: int, progress: bool, desc: str
) -> list[np.ndarray]:
    """Results of ``futures`` in submission order, with a progress bar."""
    from dask.distributed import as_completed, wait
    from tqdm.auto import tqdm

    results: list[np.ndarray | None] = [None] * len(futures)
    slot = {f.key: i for i, f in enumerate(futures)}
    try:
        with tqdm(total=n, unit="src", desc=desc, disable=not progress) as bar:
            for future, value in as_completed(futures, with_results=True):
                results[slot[future.key]] = value
                bar.update(len(value))
    except Exception:
        # a cancelled task that is already running still writes its shard:
        # let them all end before the building directory is removed
        wait(futures)
        raise
    except BaseException:
        client.cancel(futures)  # interrupted: a later build drops what is left
        raise
    return [r for r in results if r is not None]
