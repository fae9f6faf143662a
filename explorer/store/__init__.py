"""The embedding store: the only module that knows the on-disk layout.

Layout (a public contract; see ``shared/DESIGN.md``)::

    store/
      manifest.json          format version, bands, cutout size, versions, current
      catalog.parquet        id, ra, dec, any survey columns (one row per source)
      cutouts.zarr           (N, bands, S, S) float32, chunked along N
      versions/<name>/
        config.json          checkpoint hash, training config, timestamps
        embeddings.npy       (N, D) float32, L2-normalised (memory-mapped)
        map.parquet          id, x, y, anomaly score, cluster id
        index.faiss          k-NN index
      annotations.sqlite     clusters, members, tags, notes

Rows of ``catalog.parquet``, ``cutouts.zarr``, ``embeddings.npy`` and
``map.parquet`` are aligned: row ``i`` of each is the same source.

Every write goes to a temporary name and is renamed into place; a new store is
built in a temporary sibling directory and renamed as a whole; a version is
built in ``versions/.tmp-*`` and renamed; the manifest is always written last.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from explorer.errors import StoreError
from explorer.store import atomic

log = logging.getLogger(__name__)

FORMAT_NAME = "latentsky-store"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
CATALOG = "catalog.parquet"
CUTOUTS = "cutouts.zarr"
VERSIONS = "versions"
ANNOTATIONS = "annotations.sqlite"
EMBEDDINGS = "embeddings.npy"
MAP = "map.parquet"
INDEX = "index.faiss"
CONFIG = "config.json"

#: Sources per Zarr shard (one file on disk); each source is its own inner
#: chunk so that one cutout is read without decompressing its neighbours.
SHARD_SOURCES = 1024
_VERSION_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def _now() -> str:
    # Microseconds: versions are listed in this order, several per second.
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="microseconds")


def check_version_name(name: str) -> str:
    """Return ``name`` if it is a valid version name, else raise StoreError."""
    if not _VERSION_NAME.match(name or ""):
        msg = (
            f"version name {name!r} is not valid: use 1-64 letters, digits, '_', "
            "'-' or '.', starting with a letter or digit"
        )
        raise StoreError(msg)
    return name


def is_store(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a directory holding a latentsky manifest."""
    return (Path(path) / MANIFEST).is_file()


class Store:
    """An opened embedding store.

    Use :meth:`open` for an existing store and :class:`StoreBuilder` (through
    :meth:`build`) to create one.

    Attributes
    ----------
    root : pathlib.Path
        The store directory.
    manifest : dict
        Parsed ``manifest.json``.
    """

    def __init__(self, root: Path, manifest: dict[str, Any]) -> None:
        self.root = root
        self.manifest = manifest
        self._catalog: pd.DataFrame | None = None
        self._cutouts = None
        self._id_sorter: np.ndarray | None = None
        self._ids: np.ndarray | None = None

    # ------------------------------------------------------------------ open
    @classmethod
    def open(cls, root: str | os.PathLike[str]) -> Store:
        """Open the store at ``root``.

        Raises
        ------
        StoreError
            If ``root`` does not exist, is not a store, or was written by a
            newer format version than this package reads.
        """
        root = Path(root)
        if not root.exists():
            msg = f"store {root} does not exist (build one with `latentsky ingest`)"
            raise StoreError(msg)
        manifest_path = root / MANIFEST
        if not manifest_path.is_file():
            msg = f"{root} is not a latentsky store (no {MANIFEST})"
            raise StoreError(msg)
        try:
            manifest = json.loads(manifest_path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            msg = f"{manifest_path} is not valid JSON: {exc}"
            raise StoreError(msg) from exc
        if manifest.get("format") != FORMAT_NAME:
            found = manifest.get("format")
            msg = f"{manifest_path}: format is {found!r}, expected {FORMAT_NAME!r}"
            raise StoreError(msg)
        version = manifest.get("format_version")
        if not isinstance(version, int) or version > FORMAT_VERSION:
            msg = (
                f"store {root} has format version {version}, newer than the "
                f"{FORMAT_VERSION} this latentsky reads: upgrade latentsky"
            )
            raise StoreError(msg)
        return cls(root, manifest)

    @classmethod
    def build(
        cls,
        root: str | os.PathLike[str],
        bands: Sequence[str],
        cutout_size: int,
        *,
        overwrite: bool = False,
        source: str = "",
    ) -> StoreBuilder:
        """Start building a new store at ``root`` (see :class:`StoreBuilder`)."""
        return StoreBuilder(
            root, bands, cutout_size, overwrite=overwrite, source=source
        )

    def reload(self) -> Store:
        """Re-read the manifest (another process may have added a version)."""
        fresh = Store.open(self.root)
        self.manifest = fresh.manifest
        return self

    # ------------------------------------------------------------ properties
    @property
    def bands(self) -> list[str]:
        """Band names in cutout channel order."""
        return list(self.manifest["bands"])

    @property
    def cutout_size(self) -> int:
        """Side ``S`` of the square cutouts in pixels."""
        return int(self.manifest["cutout_size"])

    @property
    def n_sources(self) -> int:
        """Number of sources ``N``."""
        return int(self.manifest["n_sources"])

    @property
    def versions(self) -> list[str]:
        """Names of the embedding versions, oldest first."""
        entries = self.manifest.get("versions", {})
        return sorted(entries, key=lambda n: entries[n].get("created", ""))

    @property
    def current_version(self) -> str | None:
        """The version shown by default, or None before any embedding."""
        return self.manifest.get("current")

    def version_info(self, name: str) -> dict[str, Any]:
        """Manifest entry of version ``name``."""
        self._require_version(name)
        return dict(self.manifest["versions"][name])

    # ----------------------------------------------------------- catalogue
    @property
    def catalog(self) -> pd.DataFrame:
        """The source catalogue (``id``, ``ra``, ``dec``, survey columns), cached."""
        if self._catalog is None:
            self._catalog = pd.read_parquet(self.root / CATALOG)
        return self._catalog

    @property
    def ids(self) -> np.ndarray:
        """Source ids in row order, ``(N,)`` int64."""
        if self._ids is None:
            self._ids = self.catalog["id"].to_numpy(dtype=np.int64)
        return self._ids

    def rows_of(self, ids: Sequence[int] | np.ndarray) -> np.ndarray:
        """Row numbers of source ``ids``.

        Raises
        ------
        StoreError
            If any id is not in the store (the first few are named).
        """
        ids = np.atleast_1d(np.asarray(ids, dtype=np.int64))
        if self._id_sorter is None:
            self._id_sorter = np.argsort(self.ids, kind="stable")
        sorted_ids = self.ids[self._id_sorter]
        pos = np.searchsorted(sorted_ids, ids)
        pos = np.clip(pos, 0, len(sorted_ids) - 1)
        found = sorted_ids[pos] == ids
        if not found.all():
            missing = ids[~found][:5].tolist()
            msg = f"source id(s) {missing} not in store {self.root}"
            raise StoreError(msg)
        return self._id_sorter[pos]

    # -------------------------------------------------------------- cutouts
    @property
    def cutouts(self):  # -> zarr.Array
        """The ``(N, bands, S, S)`` float32 Zarr array (read-only)."""
        if self._cutouts is None:
            import zarr

            path = self.root / CUTOUTS
            if not path.exists():
                msg = f"store {self.root} has no cutouts ({CUTOUTS} missing)"
                raise StoreError(msg)
            self._cutouts = zarr.open_array(str(path), mode="r")
        return self._cutouts

    def cutout(self, source_id: int) -> np.ndarray:
        """The ``(bands, S, S)`` float32 cutout of one source, by id."""
        row = int(self.rows_of([source_id])[0])
        return np.asarray(self.cutouts[row])

    def cutouts_at(self, rows: Sequence[int] | np.ndarray) -> np.ndarray:
        """Cutouts at ``rows`` as ``(len(rows), bands, S, S)`` float32."""
        rows = np.asarray(rows, dtype=np.int64)
        if rows.size == 0:
            return np.zeros(
                (0, len(self.bands), self.cutout_size, self.cutout_size), np.float32
            )
        return np.asarray(self.cutouts.get_orthogonal_selection((rows,)))

    def iter_cutouts(
        self, batch: int = SHARD_SOURCES
    ) -> Iterator[tuple[int, np.ndarray]]:
        """Yield ``(start_row, cutouts)`` blocks in row order, one shard at a time."""
        arr = self.cutouts
        for start in range(0, self.n_sources, batch):
            yield start, np.asarray(arr[start : start + batch])

    # ------------------------------------------------------------- versions
    def version_dir(self, name: str) -> Path:
        """Directory of version ``name`` (which must exist)."""
        self._require_version(name)
        return self.root / VERSIONS / name

    def _require_version(self, name: str) -> None:
        if name not in self.manifest.get("versions", {}):
            have = ", ".join(self.versions) or "none"
            msg = f"store {self.root} has no version {name!r} (versions: {have})"
            raise StoreError(msg)

    def _resolve(self, version: str | None) -> str:
        name = version or self.current_version
        if name is None:
            msg = f"store {self.root} has no embedding version yet (`latentsky embed`)"
            raise StoreError(msg)
        self._require_version(name)
        return name

    def embeddings(self, version: str | None = None) -> np.ndarray:
        """Memory-mapped ``(N, D)`` float32 embeddings of ``version`` (or current)."""
        path = self.version_dir(self._resolve(version)) / EMBEDDINGS
        if not path.exists():
            msg = f"version {version!r} of {self.root} has no {EMBEDDINGS}"
            raise StoreError(msg)
        return np.load(path, mmap_mode="r")

    def map_table(self, version: str | None = None) -> pd.DataFrame:
        """``map.parquet`` of ``version`` (id, x, y, scores, cluster ids)."""
        path = self.version_dir(self._resolve(version)) / MAP
        if not path.exists():
            msg = (
                f"version {version!r} of {self.root} has no {MAP} (`latentsky analyse`)"
            )
            raise StoreError(msg)
        return pd.read_parquet(path)

    def version_config(self, version: str | None = None) -> dict[str, Any]:
        """``config.json`` of ``version``."""
        path = self.version_dir(self._resolve(version)) / CONFIG
        return json.loads(path.read_text()) if path.exists() else {}

    def version_file(self, version: str | None, filename: str) -> Path:
        """Path of ``filename`` inside ``version`` (may not exist yet)."""
        return self.version_dir(self._resolve(version)) / filename

    @contextlib.contextmanager
    def new_version(
        self,
        name: str,
        *,
        make_current: bool = True,
        overwrite: bool = False,
        info: dict[str, Any] | None = None,
    ) -> Iterator[Path]:
        """Build a new version in a temporary directory, publish it on success.

        The body writes ``embeddings.npy``, ``config.json`` etc. into the yielded
        directory. On normal exit the directory is renamed to
        ``versions/<name>`` and the manifest is updated (last). On an exception
        nothing becomes visible.

        Parameters
        ----------
        name : str
            Version name (letters, digits, ``_-.``).
        make_current : bool
            Make it the store's current version.
        overwrite : bool
            Replace an existing version of the same name.
        info : dict, optional
            Extra fields for the manifest entry (e.g. ``embedding_dim``).

        Yields
        ------
        pathlib.Path
            The temporary version directory.
        """
        check_version_name(name)
        if name in self.manifest.get("versions", {}) and not overwrite:
            msg = f"store {self.root} already has a version {name!r} (choose another)"
            raise StoreError(msg)
        versions_dir = self.root / VERSIONS
        versions_dir.mkdir(exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{name}-", dir=versions_dir))
        try:
            yield tmp
            with atomic.atomic_path(versions_dir / name) as target:
                os.replace(tmp, target)
            self.reload()
            entry = {"created": _now(), **(info or {})}
            self.manifest.setdefault("versions", {})[name] = entry
            if make_current or self.manifest.get("current") is None:
                self.manifest["current"] = name
            self._write_manifest()
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def update_version_info(self, name: str, **fields: Any) -> None:
        """Merge ``fields`` into the manifest entry of version ``name``."""
        self.reload()
        self._require_version(name)
        self.manifest["versions"][name].update(fields)
        self._write_manifest()

    def set_current(self, name: str) -> None:
        """Make ``name`` the version shown by default."""
        self.reload()
        self._require_version(name)
        self.manifest["current"] = name
        self._write_manifest()

    def delete_version(self, name: str) -> None:
        """Remove version ``name`` (manifest first, so it is never half-visible)."""
        self.reload()
        self._require_version(name)
        del self.manifest["versions"][name]
        if self.manifest.get("current") == name:
            remaining = self.versions
            self.manifest["current"] = remaining[-1] if remaining else None
        self._write_manifest()
        shutil.rmtree(self.root / VERSIONS / name, ignore_errors=True)

    def _write_manifest(self) -> None:
        atomic.write_json(self.root / MANIFEST, self.manifest)

    # ------------------------------------------------------------- summary
    @property
    def annotations_path(self) -> Path:
        """Path of the SQLite annotations database."""
        return self.root / ANNOTATIONS

    def disk_bytes(self) -> int:
        """Total size of the store's files in bytes."""
        return sum(p.stat().st_size for p in self.root.rglob("*") if p.is_file())

    def summary(self) -> str:
        """Human-readable multi-line description (used by ``latentsky info``)."""
        cat = self.catalog
        lines = [
            f"store      {self.root}",
            f"format     {FORMAT_NAME} v{self.manifest['format_version']}",
            f"sources    {self.n_sources:,}",
            f"bands      {', '.join(self.bands)}",
            f"cutouts    {self.cutout_size}x{self.cutout_size} px float32",
            f"ra range   {cat['ra'].min():.4f} .. {cat['ra'].max():.4f} deg",
            f"dec range  {cat['dec'].min():.4f} .. {cat['dec'].max():.4f} deg",
            f"columns    {', '.join(c for c in cat.columns if not c.startswith('_'))}",
            f"disk       {self.disk_bytes() / 2**20:,.1f} MiB",
        ]
        masked = int(cat["n_masked"].astype(bool).sum()) if "n_masked" in cat else 0
        lines.append(f"masked     {masked:,} sources had NaN/inf pixels (filled)")
        if self.versions:
            for name in self.versions:
                info = self.manifest["versions"][name]
                mark = "*" if name == self.current_version else " "
                dim = info.get("embedding_dim", "?")
                lines.append(
                    f"version  {mark} {name}  dim={dim}  created {info.get('created')}"
                )
        else:
            lines.append(
                "versions   none yet (run `latentsky train` and `latentsky embed`)"
            )
        return "\n".join(lines)


class StoreBuilder:
    """Builds a new store in a temporary directory, then publishes it atomically.

    Use as a context manager; append sources in chunks, never the whole survey::

        with Store.build("store", ["g", "r", "z"], 64) as builder:
            for cutouts, catalog in chunks:
                builder.append(cutouts, catalog)
        store = builder.store

    On an exception the temporary directory is removed and an existing store at
    ``root`` is left untouched.
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        bands: Sequence[str],
        cutout_size: int,
        *,
        overwrite: bool = False,
        source: str = "",
    ) -> None:
        self.root = Path(root)
        self.bands = [str(b) for b in bands]
        self.cutout_size = int(cutout_size)
        self.overwrite = overwrite
        self.source = source
        self.store: Store | None = None
        if not self.bands:
            raise StoreError("a store needs at least one band")
        if len(set(self.bands)) != len(self.bands):
            msg = f"band names {self.bands} are not unique"
            raise StoreError(msg)
        if self.cutout_size < 8:
            msg = f"cutout size {self.cutout_size} px is too small (need >= 8)"
            raise StoreError(msg)
        if self.root.exists():
            if not is_store(self.root):
                if self.root.is_dir() and not any(self.root.iterdir()):
                    pass  # an empty directory is fine to fill
                else:
                    msg = (
                        f"{self.root} exists and is not a latentsky store; "
                        "refusing to overwrite it"
                    )
                    raise StoreError(msg)
            elif not overwrite:
                msg = (
                    f"store {self.root} already exists (pass --overwrite to replace it)"
                )
                raise StoreError(msg)
        self._tmp: Path | None = None
        self._array = None
        self._catalogs: list[pd.DataFrame] = []
        self._n = 0
        self._buffer: list[np.ndarray] = []
        self._buffered = 0

    def __enter__(self) -> StoreBuilder:
        import zarr

        self.root.parent.mkdir(parents=True, exist_ok=True)
        self._tmp = Path(
            tempfile.mkdtemp(
                prefix=f".{self.root.name}.building-", dir=self.root.parent
            )
        )
        b, s = len(self.bands), self.cutout_size
        self._array = zarr.create_array(
            store=str(self._tmp / CUTOUTS),
            shape=(0, b, s, s),
            shards=(SHARD_SOURCES, b, s, s),
            chunks=(1, b, s, s),
            dtype="float32",
            fill_value=0.0,
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
        if self._buffered >= SHARD_SOURCES:
            self._flush(final=False)

    def _flush(self, final: bool) -> None:
        if not self._buffer:
            return
        block = np.concatenate(self._buffer)
        n_write = len(block) if final else (len(block) // SHARD_SOURCES) * SHARD_SOURCES
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
        catalog.to_parquet(self._tmp / CATALOG, index=False)
        manifest = {
            "format": FORMAT_NAME,
            "format_version": FORMAT_VERSION,
            "bands": self.bands,
            "cutout_size": self.cutout_size,
            "n_sources": int(self._n),
            "created": _now(),
            "source": self.source,
            "pixel_fill": "NaN/inf pixels replaced by the median of the finite "
            "pixels of the same band of the same cutout; count in catalog column "
            "n_masked",
            "versions": {},
            "current": None,
        }
        atomic.write_json(self._tmp / MANIFEST, manifest)
        with atomic.atomic_path(self.root) as target:
            os.replace(self._tmp, target)
        self.store = Store.open(self.root)
        log.info("wrote store %s with %d sources", self.root, self._n)


def validate_catalog(catalog: pd.DataFrame, where: str) -> None:
    """Check the catalogue contract: unique int ids, finite ra/dec in range.

    Raises
    ------
    StoreError
        Naming ``where``, the column and the offending values.
    """
    for col in ("id", "ra", "dec"):
        if col not in catalog.columns:
            have = list(catalog.columns)
            msg = f"{where}: catalog has no {col!r} column (columns: {have})"
            raise StoreError(msg)
    if not pd.api.types.is_integer_dtype(catalog["id"]):
        msg = f"{where}: column 'id' has dtype {catalog['id'].dtype}, expected integers"
        raise StoreError(msg)
    dup = catalog["id"][catalog["id"].duplicated()]
    if len(dup):
        msg = f"{where}: duplicate source ids {dup.unique()[:5].tolist()}"
        raise StoreError(msg)
    for col, lo, hi in (("ra", 0.0, 360.0), ("dec", -90.0, 90.0)):
        values = pd.to_numeric(catalog[col], errors="coerce").to_numpy(dtype=float)
        bad = ~np.isfinite(values) | (values < lo) | (values > hi)
        if bad.any():
            ids = catalog["id"][bad].head(5).tolist()
            msg = (
                f"{where}: column {col!r} missing or outside [{lo}, {hi}] for ids {ids}"
            )
            raise StoreError(msg)
