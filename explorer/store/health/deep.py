"""The deep health check: read every byte that matters.

Every cutout chunk (the per-cutout CRC32C of new stores turns a flipped byte
into an error), every catalogue value (RA in [0, 360), Dec in [-90, 90],
finite, unique ids), Parquet page checksums, embeddings finite, the FAISS
index loads and holds N vectors, SQLite's ``integrity_check``.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import numpy as np

from explorer.store import layout
from explorer.store.health.quick import (
    REANALYSE,
    REBUILD,
    REEMBED,
    Problem,
    guarded,
    quick_check,
)


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

    guarded(problems, path, REBUILD)(check)


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

    guarded(problems, path, REBUILD)(check)


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

    guarded(problems, emb_path, REEMBED, version)(check_embeddings)
    fix = REANALYSE.format(version=version)
    map_path = directory / layout.MAP
    if map_path.exists():

        def check_map() -> None:
            import pyarrow.parquet as pq

            pq.read_table(map_path, page_checksum_verification=True)

        guarded(problems, map_path, fix, version)(check_map)
    index_path = directory / layout.INDEX
    if index_path.exists():

        def check_index() -> None:
            import faiss

            index = faiss.read_index(str(index_path))
            if index.ntotal != n:
                what = f"holds {index.ntotal} vectors, expected {n}"
                problems.append(Problem(index_path, what, fix, version))

        guarded(problems, index_path, fix, version)(check_index)


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

    guarded(problems, path, fix)(check)


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
