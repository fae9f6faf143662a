"""Table file formats of an export: CSV, FITS, VOTable and Parquet.

Picks the format of a file (:func:`format_of`) and writes a table in it
atomically (:func:`write_table`): units and descriptions of the known columns
go into the FITS/VOTable column metadata, scalar metadata into the FITS
header, VOTable INFO/PARAM, Parquet key-value metadata (``latentsky``) or
CSV ``#`` comment lines.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import pandas as pd

from explorer.errors import DataError
from explorer.store import atomic

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
