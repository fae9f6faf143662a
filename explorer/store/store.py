"""The opened store: manifest, catalogue, cutouts and embedding versions.

Rows of ``catalog.parquet``, ``cutouts.zarr``, ``embeddings.npy`` and
``map.parquet`` are aligned: row ``i`` of each is the same source. A version
is built in ``versions/.tmp-<name>-*`` and renamed into place; the manifest is
always written last, so a half-built version is never visible.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from explorer.errors import StoreError
from explorer.store import atomic, layout, location
from explorer.store.catalog import rows_of_ids
from explorer.store.manifest import (
    check_version_name,
    now,
    read_manifest,
    write_manifest,
)

if TYPE_CHECKING:
    from explorer.store.builder import StoreBuilder

#: ``config.json`` keys that may name the checkpoint a version was embedded
#: with; ``checkpoint`` is what ``latentsky embed`` writes.
_CHECKPOINT_KEYS = ("checkpoint", "checkpoint_path")


class Store:
    """An opened embedding store.

    Use :meth:`open` for an existing store and :meth:`build` (a
    :class:`~explorer.store.builder.StoreBuilder`) to create one.

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
        #: version -> why it is unusable (found by ``open(check=True)``)
        self.damaged: dict[str, str] = {}

    # ------------------------------------------------------------------ open
    @classmethod
    def open(cls, root: str | os.PathLike[str], *, check: bool = False) -> Store:
        """Open the store at ``root``.

        Parameters
        ----------
        root : path-like or str
            The store directory, or an fsspec URL of one (``file://``,
            ``memory://``, ``s3://``...; see :mod:`explorer.store.location`).
        check : bool
            Always, an interrupted replace of the whole store is completed
            first (:func:`explorer.store.atomic.recover_swaps`). For writing
            or serving: also remove what killed writers left
            behind (:func:`explorer.store.health.repair`), then run the quick
            health check. A damaged store file raises; a damaged version is
            recorded in :attr:`damaged` and raises only when it is used.

        Raises
        ------
        StoreError
            If ``root`` does not exist, is not a store, was written by a newer
            format version than this package reads, or (with ``check``) one of
            its own files is damaged, naming the file and what to do.
        """
        root = location.store_path(root)
        if location.is_local(root):
            # an overwrite killed between its two renames (no renameat2) left
            # its journal: complete it first, so that the path holds a store
            atomic.recover_swaps(root.parent, root.name)
        if not check:
            return cls(root, read_manifest(root))
        from explorer.store.health import prepare_to_use

        damaged = prepare_to_use(root)
        store = cls(root, read_manifest(root))
        store.damaged = damaged
        return store

    @classmethod
    def build(
        cls,
        root: str | os.PathLike[str],
        bands: Sequence[str],
        cutout_size: int,
        *,
        overwrite: bool = False,
        source: str = "",
        pixel_scale: float | None = None,
    ) -> StoreBuilder:
        """Start building a new store at ``root`` (see ``StoreBuilder``)."""
        from explorer.store.builder import StoreBuilder

        return StoreBuilder(
            root,
            bands,
            cutout_size,
            overwrite=overwrite,
            source=source,
            pixel_scale=pixel_scale,
        )

    def reload(self) -> Store:
        """Re-read the manifest (another process may have added a version)."""
        self.manifest = read_manifest(self.root)
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
            self._catalog = location.read_parquet(self.root / layout.CATALOG)
        return self._catalog

    @property
    def ids(self) -> np.ndarray:
        """Source ids in row order, ``(N,)`` int64."""
        if self._ids is None:
            self._ids = self.catalog["id"].to_numpy(dtype=np.int64)
        return self._ids

    def rows_of(self, ids: Sequence[int] | np.ndarray) -> np.ndarray:
        """Row numbers of source ``ids``, ``(n,)`` int64.

        Raises
        ------
        StoreError
            If any id is not in the store (the first few are named).
        """
        if self._id_sorter is None:
            self._id_sorter = np.argsort(self.ids, kind="stable")
        return rows_of_ids(
            self.ids,
            ids,
            what=f"store {self.root}",
            sorter=self._id_sorter,
            error=StoreError,
        )

    # -------------------------------------------------------------- cutouts
    @property
    def cutouts(self):  # -> zarr.Array; zarr is imported lazily
        """The ``(N, bands, S, S)`` float32 Zarr array (read-only)."""
        if self._cutouts is None:
            path = self.root / layout.CUTOUTS
            if not path.exists():
                msg = f"store {self.root} has no cutouts ({layout.CUTOUTS} missing)"
                raise StoreError(msg)
            self._cutouts = location.open_zarr_array(path)
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
        self, batch: int = layout.SHARD_SOURCES
    ) -> Iterator[tuple[int, np.ndarray]]:
        """Yield ``(start_row, cutouts)`` blocks in row order, one shard at a time."""
        arr = self.cutouts
        for start in range(0, self.n_sources, batch):
            yield start, np.asarray(arr[start : start + batch])

    # ------------------------------------------------------------- versions
    def version_dir(self, name: str) -> Path:
        """Directory of version ``name`` (which must exist)."""
        self._require_version(name)
        return layout.version_dir(self.root, name)

    def _require_version(self, name: str) -> None:
        if name not in self.manifest.get("versions", {}):
            have = ", ".join(self.versions) or "none"
            msg = f"store {self.root} has no version {name!r} (versions: {have})"
            raise StoreError(msg)
        if name in self.damaged:
            msg = f"version {name!r} is damaged: {self.damaged[name]}"
            raise StoreError(msg)

    def _resolve(self, version: str | None) -> str:
        name = version or self.current_version
        if name is None:
            msg = f"store {self.root} has no embedding version yet (`latentsky embed`)"
            raise StoreError(msg)
        self._require_version(name)
        return name

    def embeddings(self, version: str | None = None) -> np.ndarray:
        """``(N, D)`` float32 embeddings of ``version`` (or current), read-only.

        Memory-mapped for a local store; read whole through fsspec for a URL.
        """
        path = self.version_file(version, layout.EMBEDDINGS)
        if not path.exists():
            msg = f"version {version!r} of {self.root} has no {layout.EMBEDDINGS}"
            raise StoreError(msg)
        return location.load_npy(path)

    def map_table(self, version: str | None = None) -> pd.DataFrame:
        """``map.parquet`` of ``version`` (id, x, y, scores, cluster ids)."""
        path = self.version_file(version, layout.MAP)
        if not path.exists():
            msg = (
                f"version {version!r} of {self.root} has no {layout.MAP} "
                "(`latentsky analyse`)"
            )
            raise StoreError(msg)
        return location.read_parquet(path)

    def version_config(self, version: str | None = None) -> dict[str, Any]:
        """``config.json`` of ``version`` (``{}`` when it has none)."""
        path = self.version_file(version, layout.CONFIG)
        return json.loads(path.read_text()) if path.exists() else {}

    def version_checkpoint(self, version: str | None = None) -> Path | None:
        """The checkpoint ``version`` was embedded with, as named by its config.

        Parameters
        ----------
        version : str, optional
            Version name; default the current one.

        Returns
        -------
        pathlib.Path or None
            The path ``config.json`` names (a relative one is taken from the
            store root when it exists there), or None when it names none. The
            file itself may be gone: callers check ``is_file()``.
        """
        config = self.version_config(version)
        value = next((config[k] for k in _CHECKPOINT_KEYS if config.get(k)), None)
        if isinstance(value, dict):
            value = value.get("path")
        if not value or not isinstance(value, str | os.PathLike):
            return None
        path = Path(value)
        if not path.is_absolute() and (self.root / path).exists():
            path = self.root / path
        return path

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

        Raises
        ------
        StoreError
            If the name is not valid, or taken and ``overwrite`` is False.
        """
        check_version_name(name)
        if name in self.manifest.get("versions", {}) and not overwrite:
            msg = f"store {self.root} already has a version {name!r} (choose another)"
            raise StoreError(msg)
        target = layout.version_dir(self.root, name)
        target.parent.mkdir(parents=True, exist_ok=True)
        prefix = layout.version_build_prefix(name)
        # a URL store's version is built on local disk and uploaded whole
        # (atomic.atomic_path warns that the upload is not atomic)
        build_in = target.parent if location.is_local(target) else None
        tmp = Path(tempfile.mkdtemp(prefix=prefix, dir=build_in))
        try:
            yield tmp
            with atomic.atomic_path(target) as final:
                os.replace(tmp, final)
            self.reload()
            entry = {"created": now(), **(info or {})}
            self.manifest.setdefault("versions", {})[name] = entry
            if make_current or self.manifest.get("current") is None:
                self.manifest["current"] = name
            write_manifest(self.root, self.manifest)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def update_version_info(self, name: str, **fields: Any) -> None:
        """Merge ``fields`` into the manifest entry of version ``name``."""
        self.reload()
        self._require_version(name)
        self.manifest["versions"][name].update(fields)
        write_manifest(self.root, self.manifest)

    def set_current(self, name: str) -> None:
        """Make ``name`` the version shown by default."""
        self.reload()
        self._require_version(name)
        self.manifest["current"] = name
        write_manifest(self.root, self.manifest)

    def delete_version(self, name: str) -> None:
        """Remove version ``name`` (manifest first, so it is never half-visible)."""
        self.reload()
        self._require_version(name)
        del self.manifest["versions"][name]
        if self.manifest.get("current") == name:
            remaining = self.versions
            self.manifest["current"] = remaining[-1] if remaining else None
        write_manifest(self.root, self.manifest)
        atomic.remove_tree(layout.version_dir(self.root, name))

    # ------------------------------------------------------------- summary
    @property
    def annotations_path(self) -> Path:
        """Path of the SQLite annotations database.

        SQLite needs a local file: a URL store's annotations live in a local
        copy (:func:`explorer.store.location.local_annotations`).
        """
        if location.is_local(self.root):
            return self.root / layout.ANNOTATIONS
        return location.local_annotations(self.root)

    def disk_bytes(self) -> int:
        """Total size of the store's files in bytes."""
        return sum(p.stat().st_size for p in self.root.rglob("*") if p.is_file())

    def summary(self) -> str:
        """Human-readable multi-line description (used by ``latentsky info``)."""
        from explorer.store.summary import summary_text

        return summary_text(self)
