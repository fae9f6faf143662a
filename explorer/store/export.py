"""Export a set of sources as a table: CSV, FITS, VOTable or Parquet.

The table's columns are built by :mod:`explorer.store.export_table`
(:func:`source_table`), the files written by
:mod:`explorer.store.export_formats` (:func:`write_table`); this module joins
the two for the callers (``latentsky export``, the dashboard's downloads, SAMP)
and re-exports their public names. Files are written atomically: a reader
never sees half a table.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from explorer.errors import DataError
from explorer.store.export_formats import (
    FORMAT_SUFFIX,
    FORMATS,
    format_of,
    write_table,
)
from explorer.store.export_table import source_table

if TYPE_CHECKING:
    from explorer.store.annotations import Annotations
    from explorer.store.store import Store

__all__ = [
    "FORMATS",
    "FORMAT_SUFFIX",
    "export_bytes",
    "export_cluster",
    "export_sources",
    "format_of",
    "source_table",
    "write_table",
]


def export_sources(
    store: Store,
    ids: Iterable[int] | np.ndarray,
    path: str | os.PathLike[str],
    fmt: str | None = None,
    version: str | None = None,
    *,
    annotations: Annotations | None = None,
    meta: dict[str, Any] | None = None,
) -> Path:
    """Export sources ``ids`` of ``store`` with RA/Dec, map position and scores.

    Parameters
    ----------
    store : explorer.store.Store
        The store.
    ids : array-like of int
        ``(n,)`` source ids.
    path : path-like
        Output file (``.csv``, ``.fits``, ``.vot``/``.xml``, ``.parquet``).
    fmt : {"csv", "fits", "votable", "parquet"}, optional
        Format; default from the suffix of ``path``.
    version : str, optional
        Embedding version of the map/score columns (default current).
    annotations : explorer.store.annotations.Annotations, optional
        Tag source (default the store's database).
    meta : dict, optional
        Extra metadata written into the file header.

    Returns
    -------
    pathlib.Path
        The written file.

    Raises
    ------
    DataError
        Empty selection or unknown format.
    StoreError
        Unknown ids or version.
    """
    fmt = format_of(path, fmt)
    table = source_table(store, ids, version=version, annotations=annotations)
    info = {
        "store": str(store.root),
        "version": version or store.current_version or "",
        "nsources": len(table),
        **(meta or {}),
    }
    return write_table(table, path, fmt, info)


def export_cluster(
    store: Store,
    annotations: Annotations,
    name: str,
    path: str | os.PathLike[str],
    fmt: str | None = None,
    version: str | None = None,
) -> Path:
    """Export the members of saved cluster ``name`` (see :func:`export_sources`).

    The cluster name and note are written into the file's metadata.

    Raises
    ------
    DataError
        If there is no cluster ``name``.
    """
    members = annotations.members(name)
    note = annotations.cluster_note(name)
    return export_sources(
        store,
        members,
        path,
        fmt,
        version,
        annotations=annotations,
        meta={"cluster": name, "note": note},
    )


def export_bytes(
    store: Store,
    ids: Iterable[int] | np.ndarray | None,
    fmt: str,
    version: str | None = None,
    *,
    cluster: str | None = None,
    annotations: Annotations | None = None,
    meta: dict[str, Any] | None = None,
) -> bytes:
    """The file an export would write, as bytes (for a download button).

    Exports the sources ``ids`` as :func:`export_sources` does, or, with
    ``cluster``, the members of that saved cluster as :func:`export_cluster`
    does (its name and note in the metadata).

    Parameters
    ----------
    store : explorer.store.Store
        The store.
    ids : array-like of int or None
        ``(n,)`` source ids; None when ``cluster`` is given.
    fmt : {"csv", "fits", "votable", "parquet"}
        Format.
    version : str, optional
        Embedding version of the map/score columns (default current).
    cluster : str, optional
        Name of a saved cluster to export instead of ``ids``.
    annotations : explorer.store.annotations.Annotations, optional
        Tag and cluster source (default the store's database).
    meta : dict, optional
        Extra metadata of an ``ids`` export.

    Returns
    -------
    bytes
        The file's contents.

    Raises
    ------
    DataError
        Unknown format, empty selection, unknown cluster, or both or neither
        of ``ids`` and ``cluster`` given.
    StoreError
        Unknown ids or version.
    """
    fmt = format_of("", fmt)
    if (ids is None) == (cluster is None):
        raise DataError("export_bytes needs source ids or a cluster name (exactly one)")
    with tempfile.TemporaryDirectory(prefix="latentsky-export-") as tmp:
        path = Path(tmp) / f"export{FORMAT_SUFFIX[fmt]}"
        if cluster is not None:
            if annotations is None:
                from explorer.store.annotations import Annotations

                annotations = Annotations(store.annotations_path)
            export_cluster(store, annotations, cluster, path, fmt, version)
        else:
            export_sources(
                store, ids, path, fmt, version, annotations=annotations, meta=meta
            )
        return path.read_bytes()
