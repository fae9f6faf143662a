"""Health checks of a store: a quick one for every open, a deep one on demand.

:func:`quick_check` reads only headers and metadata (manifest, Parquet
footers, the Zarr array's metadata, the ``.npy`` header and file size) so it
can run whenever a store is opened for writing or serving. :func:`deep_check`
reads everything: every cutout chunk, every catalogue value (RA in [0, 360),
Dec in [-90, 90], finite, unique ids), every Parquet page, the FAISS index
and SQLite's ``integrity_check``. Both return a list of :class:`Problem`, each
naming the file, what is wrong and what to do; :func:`repair` removes the
temporary files and directories that killed writers left behind.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from explorer.errors import StoreError
from explorer.store import layout

log = logging.getLogger(__name__)

#: what to tell a user whose store file is damaged
REBUILD = "rebuild the store with `latentsky ingest ... --overwrite`"
REEMBED = "delete the version and embed again (`latentsky embed`)"
REANALYSE = "recompute it with `latentsky analyse STORE --version {version}`"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a store.

    Attributes
    ----------
    path : pathlib.Path
        The damaged file or directory.
    what : str
        What is wrong, with the value found.
    fix : str
        What the user can do about it.
    version : str or None
        The version the file belongs to (None for the store's own files):
        a damaged version can be left out while the rest is served.
    """

    path: Path
    what: str
    fix: str
    version: str | None = None

    def __str__(self) -> str:
        return f"{self.path}: {self.what} ({self.fix})"


def _parquet_rows(path: Path) -> int:
    import pyarrow.parquet as pq

    return pq.ParquetFile(path).metadata.num_rows


def _npy_header(path: Path) -> tuple[tuple[int, ...], np.dtype, int]:
    """Shape, dtype and data offset of an ``.npy`` file, from its header only."""
    with open(path, "rb") as handle:
        major, _ = np.lib.format.read_magic(handle)
        if major == 1:
            shape, _, dtype = np.lib.format.read_array_header_1_0(handle)
        else:
            shape, _, dtype = np.lib.format.read_array_header_2_0(handle)
        return shape, dtype, handle.tell()


def _guard(problems: list[Problem], path: Path, fix: str, version=None):
    """Decorator-free try: run ``check()`` and turn any exception into a Problem."""

    def run(check: Callable[[], None]) -> None:
        try:
            check()
        except FileNotFoundError:
            problems.append(Problem(path, "is missing", fix, version))
        except Exception as exc:  # noqa: BLE001 - any unreadable file is a finding
            text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            problems.append(Problem(path, f"cannot be read: {text}", fix, version))

    return run


# ----------------------------------------------------------------- quick
def _check_catalog_rows(root: Path, n: int, problems: list[Problem]) -> None:
    path = root / layout.CATALOG

    def check() -> None:
        import pyarrow.parquet as pq

        rows = _parquet_rows(path)
        if rows != n:
            what = f"has {rows} rows, the manifest says {n} sources"
            problems.append(Problem(path, what, REBUILD))
        names = set(pq.read_schema(path).names)
        missing = [c for c in ("id", "ra", "dec") if c not in names]
        if missing:
            what = f"lacks column(s) {', '.join(missing)}"
            problems.append(Problem(path, what, REBUILD))

    _guard(problems, path, REBUILD)(check)


def _check_cutouts_meta(root: Path, manifest: dict, problems: list[Problem]) -> None:
    path = root / layout.CUTOUTS
    n, bands, size = (
        manifest["n_sources"],
        len(manifest["bands"]),
        manifest["cutout_size"],
    )

    def check() -> None:
        meta = json.loads((path / "zarr.json").read_text())
        shape = tuple(meta.get("shape", ()))
        expected = (n, bands, size, size)
        if shape != expected:
            what = f"has shape {shape}, expected {expected} from the manifest"
            problems.append(Problem(path, what, REBUILD))
        if meta.get("data_type") != "float32":
            what = f"has data type {meta.get('data_type')!r}, expected 'float32'"
            problems.append(Problem(path, what, REBUILD))

    _guard(problems, path, REBUILD)(check)


def _check_version_files(
    root: Path, version: str, n: int, problems: list[Problem]
) -> None:
    directory = layout.version_dir(root, version)
    emb = directory / layout.EMBEDDINGS

    def check_embeddings() -> None:
        shape, dtype, offset = _npy_header(emb)
        if len(shape) != 2 or shape[0] != n:
            what = f"has shape {shape}, expected ({n}, D)"
            problems.append(Problem(emb, what, REEMBED, version))
            return
        if dtype != np.float32:
            what = f"has dtype {dtype}, expected float32"
            problems.append(Problem(emb, what, REEMBED, version))
        expected = offset + shape[0] * shape[1] * dtype.itemsize
        size = emb.stat().st_size
        if size < expected:
            what = f"is truncated: {size} bytes, its header needs {expected}"
            problems.append(Problem(emb, what, REEMBED, version))

    _guard(problems, emb, REEMBED, version)(check_embeddings)
    map_path = directory / layout.MAP
    if map_path.exists():
        fix = REANALYSE.format(version=version)

        def check_map() -> None:
            rows = _parquet_rows(map_path)
            if rows != n:
                what = f"has {rows} rows, expected {n}"
                problems.append(Problem(map_path, what, fix, version))

        _guard(problems, map_path, fix, version)(check_map)


def quick_check(root: str | os.PathLike[str]) -> list[Problem]:
    """Cheap consistency check: sizes, shapes, dtypes and row counts agree.

    Parameters
    ----------
    root : path-like
        The store directory.

    Returns
    -------
    list of Problem
        Empty when healthy.

    Raises
    ------
    StoreError
        If the manifest itself is missing or invalid (nothing else can be
        checked without it).
    """
    from explorer.store.manifest import read_manifest

    root = Path(root)
    manifest = read_manifest(root)
    n = manifest["n_sources"]
    problems: list[Problem] = []
    _check_catalog_rows(root, n, problems)
    _check_cutouts_meta(root, manifest, problems)
    for version in manifest.get("versions", {}):
        directory = layout.version_dir(root, version)
        if not directory.is_dir():
            what = "is listed in the manifest but missing"
            problems.append(Problem(directory, what, REEMBED, version))
            continue
        _check_version_files(root, version, n, problems)
    return problems


# ------------------------------------------------------------------ deep
def _deep_catalog(root: Path, problems: list[Problem]) -> None:
    path = root / layout.CATALOG

    def check() -> None:
        import pyarrow.parquet as pq

        table = pq.read_table(path, page_checksum_verification=True)
        frame = table.select(
            [c for c in ("id", "ra", "dec") if c in table.schema.names]
        )
        cat = frame.to_pandas()
        for column, low, high, closed in (
            ("ra", 0.0, 360.0, False),
            ("dec", -90.0, 90.0, True),
        ):
            if column not in cat:
                continue
            values = cat[column].to_numpy(dtype=np.float64)
            bad = ~np.isfinite(values) | (values < low)
            bad |= (values > high) if closed else (values >= high)
            if bad.any():
                first = float(values[bad][0])
                bracket = "]" if closed else ")"
                what = (
                    f"{int(bad.sum())} {column} value(s) outside "
                    f"[{low:g}, {high:g}{bracket} or not finite (first: {first!r})"
                )
                problems.append(Problem(path, what, REBUILD))
        if "id" in cat and cat["id"].duplicated().any():
            dup = cat["id"][cat["id"].duplicated()].iloc[0]
            dup = dup.item() if hasattr(dup, "item") else dup
            what = f"id {dup!r} appears more than once"
            problems.append(Problem(path, what, REBUILD))

    _guard(problems, path, REBUILD)(check)


def _deep_cutouts(root: Path, problems: list[Problem]) -> None:
    from explorer.store.store import Store

    path = root / layout.CUTOUTS

    def check() -> None:
        store = Store.open(root)
        cutouts = store.cutouts
        step = layout.SHARD_SOURCES
        for start in range(0, store.n_sources, step):
            try:
                block = np.asarray(cutouts[start : start + step])
            except Exception as exc:  # noqa: BLE001 - a damaged shard
                what = f"shard of rows {start}-{start + step - 1} cannot be read: {exc}"
                problems.append(Problem(path, what, REBUILD))
                continue
            if not np.isfinite(block).all():
                what = f"rows {start}-{start + step - 1} hold non-finite pixels"
                problems.append(Problem(path, what, REBUILD))

    _guard(problems, path, REBUILD)(check)


def _deep_version(root: Path, version: str, n: int, problems: list[Problem]) -> None:
    directory = layout.version_dir(root, version)
    emb_path = directory / layout.EMBEDDINGS

    def check_embeddings() -> None:
        emb = np.load(emb_path, mmap_mode="r")
        for start in range(0, len(emb), 65536):
            if not np.isfinite(emb[start : start + 65536]).all():
                what = f"rows from {start} hold non-finite values"
                problems.append(Problem(emb_path, what, REEMBED, version))
                return

    _guard(problems, emb_path, REEMBED, version)(check_embeddings)
    fix = REANALYSE.format(version=version)
    map_path = directory / layout.MAP
    if map_path.exists():

        def check_map() -> None:
            import pyarrow.parquet as pq

            pq.read_table(map_path, page_checksum_verification=True)

        _guard(problems, map_path, fix, version)(check_map)
    index_path = directory / layout.INDEX
    if index_path.exists():

        def check_index() -> None:
            import faiss

            index = faiss.read_index(str(index_path))
            if index.ntotal != n:
                what = f"holds {index.ntotal} vectors, expected {n}"
                problems.append(Problem(index_path, what, fix, version))

        _guard(problems, index_path, fix, version)(check_index)


def _deep_annotations(root: Path, problems: list[Problem]) -> None:
    path = root / layout.ANNOTATIONS
    if not path.exists():
        return
    fix = "restore annotations.sqlite from a backup or move it aside to start afresh"

    def check() -> None:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            rows = con.execute("PRAGMA integrity_check").fetchall()
        finally:
            con.close()
        if rows != [("ok",)]:
            what = f"fails SQLite's integrity check: {rows[0][0]}"
            problems.append(Problem(path, what, fix))

    _guard(problems, path, fix)(check)


def deep_check(root: str | os.PathLike[str]) -> list[Problem]:
    """Read every byte that matters and validate catalogue values.

    Everything :func:`quick_check` checks, plus: every cutout chunk decodes
    and is finite; catalogue RA in [0, 360), Dec in [-90, 90], finite, ids
    unique; Parquet page checksums; embeddings finite; the FAISS index loads
    and holds N vectors; SQLite ``PRAGMA integrity_check``.

    Parameters
    ----------
    root : path-like
        The store directory.

    Returns
    -------
    list of Problem
        Empty when healthy.
    """
    from explorer.store.manifest import read_manifest

    root = Path(root)
    problems = quick_check(root)
    manifest = read_manifest(root)
    _deep_catalog(root, problems)
    _deep_cutouts(root, problems)
    for version in manifest.get("versions", {}):
        if layout.version_dir(root, version).is_dir():
            _deep_version(root, version, manifest["n_sources"], problems)
    _deep_annotations(root, problems)
    return problems


def require_healthy(root: str | os.PathLike[str]) -> None:
    """Raise StoreError with the first problem of :func:`quick_check`, if any."""
    problems = quick_check(root)
    if problems:
        more = f" (and {len(problems) - 1} more: run `latentsky check`)"
        msg = str(problems[0]) + (more if len(problems) > 1 else "")
        raise StoreError(msg)


# ---------------------------------------------------------------- repair
def leftovers(root: str | os.PathLike[str]) -> list[Path]:
    """Temporary files and directories that killed writers left in or by the store.

    Parameters
    ----------
    root : path-like
        The store directory.

    Returns
    -------
    list of pathlib.Path
        Build directories of dead ingests beside the store, half-built
        versions, temporary files of atomic writes and parked old copies.
    """
    root = Path(root)
    found = list(root.parent.glob(layout.building_glob(root)))
    for directory in (
        root,
        root / layout.VERSIONS,
        root / layout.CHECKPOINTS,
        root / layout.JOBS,
    ):
        if directory.is_dir():
            found += directory.glob(f".*{layout.WRITE_SUFFIX}")
            found += directory.glob(".*.old-*")
    versions = root / layout.VERSIONS
    if versions.is_dir():
        found += versions.glob(layout.VERSION_BUILD_GLOB)
    return sorted(set(found))


#: a temporary name without a pid (older latentsky) counts as stale after this
UNOWNED_STALE_S = 3600.0


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, someone else's
        return True
    return True


def _is_stale(path: Path) -> bool:
    """Whether the writer of ``path`` is gone (its pid is dead, or it is old)."""
    pid = layout.owner_pid(path)
    if pid is not None:
        return pid != os.getpid() and not _pid_alive(pid)
    try:
        age = time.time() - path.lstat().st_mtime
    except FileNotFoundError:
        return False
    return age > UNOWNED_STALE_S


def stale_leftovers(root: str | os.PathLike[str]) -> list[Path]:
    """The :func:`leftovers` whose writer is no longer running."""
    return [path for path in leftovers(root) if _is_stale(path)]


def repair(root: str | os.PathLike[str]) -> list[Path]:
    """Remove :func:`stale_leftovers` (never a published file or a live
    writer's work); return what was removed."""
    removed = []
    for path in stale_leftovers(root):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        if not path.exists():
            removed.append(path)
    if removed:
        log.info("removed %d leftover temporary path(s) in %s", len(removed), root)
    return removed
