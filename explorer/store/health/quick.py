"""The quick health check: headers, metadata, sizes and row counts only.

Cheap enough to run whenever a store is opened for writing or serving: the
manifest, Parquet footers, the Zarr array's metadata, the ``.npy`` header and
file size. Every finding is a :class:`Problem` naming the file, what is wrong
and what to do.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from explorer.errors import StoreError
from explorer.store import layout, location

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
    return location.parquet_file(path).metadata.num_rows


def _npy_header(path: Path) -> tuple[tuple[int, ...], np.dtype, int]:
    """Shape, dtype and data offset of an ``.npy`` file, from its header only."""
    with path.open("rb") as handle:
        major, _ = np.lib.format.read_magic(handle)
        if major == 1:
            shape, _, dtype = np.lib.format.read_array_header_1_0(handle)
        else:
            shape, _, dtype = np.lib.format.read_array_header_2_0(handle)
        return shape, dtype, handle.tell()


def guarded(problems: list[Problem], path: Path, fix: str, version=None):
    """A runner of ``check()`` that turns any exception it raises into a Problem."""

    def run(check: Callable[[], None]) -> None:
        try:
            check()
        except FileNotFoundError:
            problems.append(Problem(path, "is missing", fix, version))
        except Exception as exc:  # noqa: BLE001 - any unreadable file is a finding
            text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            problems.append(Problem(path, f"cannot be read: {text}", fix, version))

    return run


def _check_catalog_rows(root: Path, n: int, problems: list[Problem]) -> None:
    path = root / layout.CATALOG

    def check() -> None:
        rows = _parquet_rows(path)
        if rows != n:
            what = f"has {rows} rows, the manifest says {n} sources"
            problems.append(Problem(path, what, REBUILD))
        names = set(location.parquet_file(path).schema_arrow.names)
        missing = [c for c in ("id", "ra", "dec") if c not in names]
        if missing:
            what = f"lacks column(s) {', '.join(missing)}"
            problems.append(Problem(path, what, REBUILD))

    guarded(problems, path, REBUILD)(check)


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

    guarded(problems, path, REBUILD)(check)


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

    guarded(problems, emb, REEMBED, version)(check_embeddings)
    map_path = directory / layout.MAP
    if map_path.exists():
        fix = REANALYSE.format(version=version)

        def check_map() -> None:
            rows = _parquet_rows(map_path)
            if rows != n:
                what = f"has {rows} rows, expected {n}"
                problems.append(Problem(map_path, what, fix, version))

        guarded(problems, map_path, fix, version)(check_map)


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

    root = location.store_path(root)
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


def require_healthy(root: str | os.PathLike[str]) -> None:
    """Raise StoreError with the first problem of :func:`quick_check`, if any."""
    problems = quick_check(root)
    if problems:
        more = f" (and {len(problems) - 1} more: run `latentsky check`)"
        msg = str(problems[0]) + (more if len(problems) > 1 else "")
        raise StoreError(msg)


def prepare_to_use(root: str | os.PathLike[str]) -> dict[str, str]:
    """Ready a store for writing or serving: repair, then the quick check.

    Removes what killed writers left behind (:func:`.repair.repair`), then
    runs :func:`quick_check`.

    Parameters
    ----------
    root : path-like
        The store directory.

    Returns
    -------
    dict
        Damaged version -> the first problem found in it (usable versions
        are not listed).

    Raises
    ------
    StoreError
        If one of the store's own files (not a version's) is damaged: the
        first problem, and how many more there are.
    """
    from explorer.store.health.repair import repair
    from explorer.store.manifest import is_store

    # leftovers are named by the pid of their writer, which only means
    # something on this machine's disk: a URL store is not repaired
    if location.is_local(location.store_path(root)) and is_store(root):
        repair(root)
    problems = quick_check(root)
    fatal = [p for p in problems if p.version is None]
    if fatal:
        more = f" (and {len(fatal) - 1} more: run `latentsky check`)"
        raise StoreError(str(fatal[0]) + (more if len(fatal) > 1 else ""))
    damaged: dict[str, str] = {}
    for problem in problems:
        damaged.setdefault(problem.version, str(problem))
    return damaged
