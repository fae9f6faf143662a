"""Build a new store from chunks of sources, published atomically as a whole.

The store is written into a temporary sibling directory
(``.<name>.building-*``) and renamed onto ``root`` only when complete, so a
crash or a bad chunk never leaves a half-written store behind. An existing
store is swapped out in one step (:func:`explorer.store.atomic.replace_dir`),
so the path always holds either the old store or the new one.
"""

from __future__ import annotations

import logging
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from explorer.errors import StoreError
from explorer.store import atomic, layout, location
from explorer.store.catalog import validate_catalog
from explorer.store.manifest import (
    is_store,
    new_manifest,
    read_manifest,
    write_manifest,
)
from explorer.store.store import Store

log = logging.getLogger(__name__)

#: Smallest cutout side the encoders accept, in pixels.
MIN_CUTOUT_SIZE = 8


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _annotation_counts(path: Path) -> list[str]:
    """``["3 saved clusters", "5 tags"]`` of an annotations file (read-only)."""
    if not path.is_file():
        return []
    counts = []
    try:
        # not mode=ro: a read-only connection to a WAL file leaves its
        # -wal/-shm files behind; this one only reads and removes them on close
        con = sqlite3.connect(path, timeout=5.0)
        try:
            for table, word in (("clusters", "saved cluster"), ("tags", "tag")):
                (n,) = con.execute(f"SELECT COUNT(*) FROM {table}").fetchone()
                if n:
                    counts.append(_plural(int(n), word))
        finally:
            con.close()
    except sqlite3.Error:
        return [f"an unreadable {layout.ANNOTATIONS}"]
    return counts


def overwrite_losses(root: str | os.PathLike[str]) -> str | None:
    """What replacing the store at ``root`` would drop, in words, or None.

    Parameters
    ----------
    root : path-like
        An existing store (anything else loses nothing of ours).

    Returns
    -------
    str or None
        For instance ``"2 versions (v1, v2) and 3 saved clusters"``; None
        when the store holds no versions and no annotations.
    """
    root = Path(root)
    if not is_store(root):
        return None
    try:
        versions = sorted(read_manifest(root).get("versions") or {})
    except StoreError:
        versions = []
    parts = []
    if versions:
        shown = ", ".join(versions[:5]) + (", ..." if len(versions) > 5 else "")
        parts.append(f"{_plural(len(versions), 'version')} ({shown})")
    parts += _annotation_counts(root / layout.ANNOTATIONS)
    if not parts:
        return None
    if len(parts) == 1:
        return parts[0]
    return f"{', '.join(parts[:-1])} and {parts[-1]}"


class StoreBuilder:
    """Builds a new store in a temporary directory, then publishes it atomically.

    Use as a context manager; append sources in chunks, never the whole survey::

        with Store.build("store", ["g", "r", "z"], 64) as builder:
            for cutouts, catalog in chunks:
                builder.append(cutouts, catalog)
        store = builder.store

    On an exception the temporary directory is removed and an existing store at
    ``root`` is left untouched.

    Parameters
    ----------
    root : path-like
        Where the store goes: a new path, an empty directory, or an existing
        store when ``overwrite`` is True.
    bands : sequence of str
        Unique band names in cutout channel order.
    cutout_size : int
        Side ``S`` of the square cutouts in pixels (at least 8).
    overwrite : bool
        Replace an existing store at ``root``.
    source : str
        Where the survey came from (recorded in the manifest).
    pixel_scale : float, optional
        Arcsec per cutout pixel, recorded as the manifest's
        ``pixel_scale_arcsec`` (scale bars) when known.

    Raises
    ------
    StoreError
        If the bands or size are invalid, or ``root`` is taken.
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        bands: Sequence[str],
        cutout_size: int,
        *,
        overwrite: bool = False,
        source: str = "",
        pixel_scale: float | None = None,
    ) -> None:
        self.root = location.store_path(root)  # a UPath for an fsspec URL
        self.pixel_scale = pixel_scale
        self.bands = [str(b) for b in bands]
        self.cutout_size = int(cutout_size)
        self.overwrite = overwrite
        self.source = source
        self.store: Store | None = None
        self._check_arguments()
        self._tmp: Path | None = None
        self._array = None
        self._catalogs: list[pd.DataFrame] = []
        self._n = 0
        self._buffer: list[np.ndarray] = []
        self._buffered = 0

    def _check_arguments(self) -> None:
        if not self.bands:
            raise StoreError("a store needs at least one band")
        if len(set(self.bands)) != len(self.bands):
            msg = f"band names {self.bands} are not unique"
            raise StoreError(msg)
        if self.cutout_size < MIN_CUTOUT_SIZE:
            msg = (
                f"cutout size {self.cutout_size} px is too small "
                f"(need >= {MIN_CUTOUT_SIZE})"
            )
            raise StoreError(msg)
        if not self.root.exists():
            return
        if is_store(self.root):
            if not self.overwrite:
                msg = (
                    f"store {self.root} already exists (pass --overwrite to replace it)"
                )
                raise StoreError(msg)
        elif not (self.root.is_dir() and not any(self.root.iterdir())):
            # an empty directory is fine to fill; anything else is the user's
            msg = (
                f"{self.root} exists and is not a latentsky store; "
                "refusing to overwrite it"
            )
            raise StoreError(msg)

    def __enter__(self) -> StoreBuilder:
        import zarr

        from explorer.store.health import repair

        build_in = None  # a URL store is built on local disk, then uploaded
        if location.is_local(self.root):
            self.root.parent.mkdir(parents=True, exist_ok=True)
            # what killed ingests of this path left: finish their swap, drop
            # their build folders (a live writer's are never touched)
            atomic.recover_swaps(self.root.parent, self.root.name)
            repair(self.root)
            build_in = self.root.parent
        self._tmp = Path(
            tempfile.mkdtemp(prefix=layout.building_prefix(self.root), dir=build_in)
        )
        b, s = len(self.bands), self.cutout_size
        from zarr.codecs import Crc32cCodec, ZstdCodec

        self._array = zarr.create_array(
            store=str(self._tmp / layout.CUTOUTS),
            shape=(0, b, s, s),
            shards=(layout.SHARD_SOURCES, b, s, s),
            chunks=(1, b, s, s),
            dtype="float32",
            fill_value=0.0,
            # a checksum per cutout: a flipped byte on disk is an error on
            # read (and in `latentsky check --deep`), never silently new pixels
            compressors=[ZstdCodec(level=0), Crc32cCodec()],
            zarr_format=3,
        )
        return self

    def append(self, cutouts: np.ndarray, catalog: pd.DataFrame) -> None:
        """Append a chunk of sources.

        Parameters
        ----------
        cutouts : ndarray
            ``(n, bands, S, S)`` finite float32 pixels (fill NaNs before).
        catalog : DataFrame
            ``n`` rows with at least ``id``, ``ra``, ``dec``.

        Raises
        ------
        StoreError
            If called outside the ``with`` block, the shape is wrong, the
            lengths differ or a pixel is not finite.
        """
        if self._array is None:
            raise StoreError("StoreBuilder.append called outside its `with` block")
        cutouts = np.asarray(cutouts, dtype=np.float32)
        expected = (len(self.bands), self.cutout_size, self.cutout_size)
        if cutouts.ndim != 4 or cutouts.shape[1:] != expected:
            want = ", ".join(map(str, expected))
            msg = f"cutout chunk has shape {cutouts.shape}, expected (n, {want})"
            raise StoreError(msg)
        if len(catalog) != len(cutouts):
            msg = f"catalog chunk has {len(catalog)} rows but {len(cutouts)} cutouts"
            raise StoreError(msg)
        if not np.isfinite(cutouts).all():
            raise StoreError(
                "cutout chunk holds NaN/inf pixels; fill them before appending"
            )
        self._catalogs.append(catalog.reset_index(drop=True))
        self._buffer.append(cutouts)
        self._buffered += len(cutouts)
        # Write whole shards only: a partial shard would be rewritten later.
        if self._buffered >= layout.SHARD_SOURCES:
            self._flush(final=False)

    def _flush(self, final: bool) -> None:
        if not self._buffer:
            return
        block = np.concatenate(self._buffer)
        shard = layout.SHARD_SOURCES
        n_write = len(block) if final else (len(block) // shard) * shard
        if n_write:
            start = self._n
            self._array.resize((start + n_write, *self._array.shape[1:]))
            self._array[start : start + n_write] = block[:n_write]
            self._n += n_write
        rest = block[n_write:]
        self._buffer = [rest] if len(rest) else []
        self._buffered = len(rest)

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is None:
                self._finish()
        finally:
            if self._tmp is not None and self._tmp.exists():
                shutil.rmtree(self._tmp, ignore_errors=True)

    def _finish(self) -> None:
        self._flush(final=True)
        if self._n == 0:
            msg = f"no sources to write into {self.root} (the input is empty)"
            raise StoreError(msg)
        catalog = pd.concat(self._catalogs, ignore_index=True)
        validate_catalog(catalog, self.source or str(self.root))
        catalog.to_parquet(
            self._tmp / layout.CATALOG, index=False, write_page_checksum=True
        )
        manifest = new_manifest(self.bands, self.cutout_size, self._n, self.source)
        if self.pixel_scale is not None:
            manifest["pixel_scale_arcsec"] = float(self.pixel_scale)
        write_manifest(self._tmp, manifest)
        if location.is_local(self.root):
            atomic.replace_dir(self._tmp, self.root)
        else:
            with atomic.atomic_path(self.root) as upload:  # warns: not atomic
                os.replace(self._tmp, upload)
        self.store = Store.open(self.root)
        log.info("wrote store %s with %d sources", self.root, self._n)
