"""Export a set of sources as a table: CSV, FITS, VOTable or Parquet.

Each row is one source with its catalogue columns (``id``, ``ra``, ``dec`` in
degrees, survey columns; hidden ``_`` columns are left out), its position on
the 2-D map of an embedding version (``map_x``, ``map_y``), its scores
(``anomaly_score``, ``anomaly_rank``, ...), automatic ``cluster`` id, its
``tag`` ("interesting", "boring" or "") and the saved clusters it belongs to
(``saved_clusters``, ``;``-joined). Files are written atomically: a reader
never sees half a table.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from explorer.errors import DataError, StoreError
from explorer.store import atomic
from explorer.store.layout import MAP

if TYPE_CHECKING:
    from explorer.store.annotations import Annotations
    from explorer.store.store import Store

log = logging.getLogger(__name__)

FORMATS = ("csv", "fits", "votable", "parquet")
#: File suffix written for each format (a download's file name).
FORMAT_SUFFIX = {
    "csv": ".csv",
    "fits": ".fits",
    "votable": ".vot",
    "parquet": ".parquet",
}
_SUFFIXES = {
    ".csv": "csv",
    ".fits": "fits",
    ".fit": "fits",
    ".fts": "fits",
    ".vot": "votable",
    ".votable": "votable",
    ".xml": "votable",
    ".parquet": "parquet",
    ".pq": "parquet",
}
#: Map columns renamed on export (``x``/``y`` would clash with pixel columns).
_MAP_RENAMES = {"x": "map_x", "y": "map_y"}
_DESCRIPTIONS = {
    "id": "source identifier",
    "ra": "right ascension (ICRS)",
    "dec": "declination (ICRS)",
    "map_x": "x on the 2-D map of the latent space",
    "map_y": "y on the 2-D map of the latent space",
    "anomaly_score": "anomaly score (higher = more anomalous)",
    "anomaly_rank": "rank by anomaly score (1 = most anomalous)",
    "cluster": "automatic cluster id on the map (-1 = noise)",
    "tag": "user tag: interesting, boring or empty",
    "saved_clusters": "names of saved clusters holding the source, ';'-separated",
}
_UNITS = {"ra": "deg", "dec": "deg"}


def format_of(path: str | os.PathLike[str], fmt: str | None = None) -> str:
    """The export format: ``fmt`` if given, else from the file suffix.

    Raises
    ------
    DataError
        If ``fmt`` is unknown, or it is None and the suffix is not one of
        ``.csv``, ``.fits``/``.fit``/``.fts``, ``.vot``/``.votable``/``.xml``,
        ``.parquet``/``.pq``.
    """
    if fmt is not None:
        fmt = fmt.lower()
        if fmt not in FORMATS:
            msg = f"export format {fmt!r} is not one of {FORMATS}"
            raise DataError(msg)
        return fmt
    suffix = Path(path).suffix.lower()
    if suffix not in _SUFFIXES:
        msg = (
            f"cannot tell the export format from {str(path)!r}: use a suffix "
            f"{sorted(_SUFFIXES)} or pass a format {FORMATS}"
        )
        raise DataError(msg)
    return _SUFFIXES[suffix]


def source_table(
    store: Store,
    ids: Iterable[int] | np.ndarray,
    *,
    version: str | None = None,
    annotations: Annotations | None = None,
) -> pd.DataFrame:
    """The export table of ``ids`` (in the given order, duplicates dropped).

    Parameters
    ----------
    store : explorer.store.Store
        The store.
    ids : array-like of int
        ``(n,)`` source ids.
    version : str, optional
        Embedding version for the map/score columns; default the current
        one. A store without versions exports catalogue columns only.
    annotations : explorer.store.annotations.Annotations, optional
        Source of the ``tag`` and ``saved_clusters`` columns; default the
        store's own database when it exists.

    Returns
    -------
    DataFrame
        One row per source; see the module docstring for the columns.

    Raises
    ------
    DataError
        If ``ids`` is empty.
    StoreError
        If an id is not in the store or ``version`` does not exist.
    """
    arr = np.atleast_1d(
        np.asarray(list(ids) if not isinstance(ids, np.ndarray) else ids)
    )
    if arr.size == 0:
        raise DataError("nothing to export: the selection is empty")
    if arr.dtype.kind not in "iu":
        msg = f"source ids must be integers, got dtype {arr.dtype}"
        raise DataError(msg)
    arr = pd.unique(arr.astype(np.int64))
    rows = store.rows_of(arr)
    catalog = store.catalog
    visible = [c for c in catalog.columns if not str(c).startswith("_")]
    table = catalog.iloc[rows][visible].reset_index(drop=True)

    name = version or store.current_version
    if name is not None:
        map_table = store.map_table(name)
        if len(map_table) != store.n_sources:
            msg = (
                f"{MAP} of version {name!r} has {len(map_table)} rows, "
                f"the store has {store.n_sources} sources"
            )
            raise StoreError(msg)
        extra = map_table.iloc[rows].reset_index(drop=True)
        extra = extra.drop(columns=["id"], errors="ignore").rename(columns=_MAP_RENAMES)
        clashes = [c for c in extra.columns if c in table.columns]
        extra = extra.rename(columns={c: f"map_{c}" for c in clashes})
        table = pd.concat([table, extra], axis=1)

    if annotations is None and store.annotations_path.exists():
        from explorer.store.annotations import Annotations

        annotations = Annotations(store.annotations_path)
    if annotations is not None:
        table["tag"] = annotations.tag_of(arr).to_numpy(dtype=object).astype(str)
        table["saved_clusters"] = (
            annotations.clusters_of(arr).to_numpy(dtype=object).astype(str)
        )
    else:
        table["tag"] = ""
        table["saved_clusters"] = ""
    return table


def _to_astropy(table: pd.DataFrame, meta: dict[str, Any]):
    from astropy.table import Table

    columns = {}
    for col in table.columns:
        series = table[col]
        if pd.api.types.is_bool_dtype(series):
            values = series.to_numpy(dtype=bool)
        elif pd.api.types.is_numeric_dtype(series):
            values = series.to_numpy()
        else:
            # FITS and VOTable need fixed-width unicode, not Python objects.
            values = series.astype(str).to_numpy(dtype=str)
            if values.dtype.itemsize == 0:
                values = values.astype("U1")
        columns[str(col)] = values
    out = Table(columns)
    for col in out.colnames:
        if col in _UNITS:
            out[col].unit = _UNITS[col]
        elif col.startswith("mag_") and out[col].dtype.kind == "f":
            out[col].unit = "mag"
        if col in _DESCRIPTIONS:
            out[col].description = _DESCRIPTIONS[col]
    for key, value in meta.items():
        if value is None:
            continue
        if isinstance(value, str):
            # FITS headers hold ASCII only.
            value = value.encode("ascii", "replace").decode("ascii")
        # FITS header keywords are at most 8 upper-case characters.
        out.meta[key[:8].upper()] = value
    return out


def _write_parquet(table: pd.DataFrame, path: Path, meta: dict[str, Any]) -> None:
    import json

    import pyarrow as pa
    import pyarrow.parquet as pq

    arrow = pa.Table.from_pandas(table, preserve_index=False)
    units = {c: _UNITS[c] for c in table.columns if c in _UNITS}
    info = {k: v for k, v in meta.items() if v is not None}
    extra = {b"latentsky": json.dumps({**info, "units": units}, default=str).encode()}
    arrow = arrow.replace_schema_metadata({**(arrow.schema.metadata or {}), **extra})
    pq.write_table(arrow, path)


def write_table(
    table: pd.DataFrame,
    path: str | os.PathLike[str],
    fmt: str | None = None,
    meta: dict[str, Any] | None = None,
) -> Path:
    """Write ``table`` to ``path`` atomically as CSV, FITS, VOTable or Parquet.

    Parameters
    ----------
    table : DataFrame
        The rows to write (see :func:`source_table`).
    path : path-like
        Output file; its suffix picks the format when ``fmt`` is None.
    fmt : {"csv", "fits", "votable", "parquet"}, optional
        Format.
    meta : dict, optional
        Scalar metadata (FITS header keywords, VOTable INFO/PARAM, Parquet
        key-value metadata under ``latentsky``).

    Returns
    -------
    pathlib.Path
        The written file.
    """
    path = Path(path)
    fmt = format_of(path, fmt)
    meta = dict(meta or {})
    with atomic.atomic_path(path) as tmp:
        if fmt == "csv":
            with open(tmp, "w", newline="") as fh:
                for key, value in meta.items():
                    if value is not None:
                        fh.write(f"# {key}: {value}\n")
                table.to_csv(fh, index=False)
        elif fmt == "parquet":
            _write_parquet(table, tmp, meta)
        else:
            out = _to_astropy(table, meta)
            out.write(tmp, format="fits" if fmt == "fits" else "votable")
    log.info("exported %d sources to %s (%s)", len(table), path, fmt)
    return path


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
