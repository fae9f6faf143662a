"""Catalogue normalisation: read a table file, then ids, ra/dec and names.

Rules: ``id``/``ra``/``dec`` are matched case-insensitively (and through a few
common aliases); a missing ``id`` column gets ids ``0..N-1``; non-integer
(e.g. string) ids are kept in a ``name`` column and replaced by integer ids
``0..N-1``; a missing id (NaN, empty cell) is an error, never a renumbering.
RA must be finite degrees in [0, 360) and Dec in [-90, 90]: the first bad
value is named with its column, row and id.

A HATS catalogue (a folder, e.g. one written by ``latentsky export --format
hats`` or downloaded from a survey's HATS archive) is read whole with
``lsdb``; HATS keeps rows in sky order, so they are put back in ``id`` order
(the order a cube of cutouts follows) when the catalogue has an id column.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from explorer.errors import IngestError, LatentskyError
from explorer.ingest.fits_common import fits_table, open_fits
from explorer.store import validate_catalog

log = logging.getLogger(__name__)

CATALOG_SUFFIXES = (".csv", ".fits", ".fit", ".parquet")
_ALIASES = {
    "id": ("id", "objid", "object_id", "source_id"),
    "ra": ("ra", "ra_deg", "raj2000"),
    "dec": ("dec", "dec_deg", "dej2000", "decj2000"),
}


def read_table_file(path: Path) -> pd.DataFrame:
    """A catalogue from CSV, Parquet, the first FITS table or a HATS folder.

    Parameters
    ----------
    path : pathlib.Path
        ``.csv``, ``.parquet``, ``.fits``, ``.fit`` or ``.fits.gz`` file, or
        a HATS catalogue folder.

    Returns
    -------
    DataFrame
        The raw table (not normalised: see :func:`prepare_catalog`).

    Raises
    ------
    IngestError
        If the file is missing, unreadable, of another format, or a FITS
        file without a table HDU.
    """
    if not path.exists():
        msg = f"catalogue {path} does not exist"
        raise IngestError(msg)
    if path.is_dir():
        return _read_hats(path)
    name = path.name.lower()
    try:
        if name.endswith(".csv"):
            return pd.read_csv(path)
        if name.endswith(".parquet"):
            return pd.read_parquet(path)
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        msg = f"catalogue {path}: cannot read ({type(exc).__name__}: {exc})"
        raise IngestError(msg) from exc
    if name.endswith((".fits", ".fit", ".fits.gz")):
        hdul = open_fits(path)
        try:
            table = fits_table(hdul, path)
        finally:
            hdul.close()
        if table is None:
            msg = f"catalogue {path}: FITS file has no table HDU"
            raise IngestError(msg)
        return table
    msg = f"catalogue {path}: unknown format (use {', '.join(CATALOG_SUFFIXES)})"
    raise IngestError(msg)


def _read_hats(path: Path) -> pd.DataFrame:
    """A HATS catalogue folder as a table in ``id`` order (sky order if no ids)."""
    from explorer.store.hats import is_hats, read_hats

    if not is_hats(path):
        msg = (
            f"catalogue {path} is a folder but not a HATS catalogue (no "
            "collection.properties or hats.properties): give a table file"
        )
        raise IngestError(msg)
    try:
        table = read_hats(path)
    except LatentskyError as exc:
        raise IngestError(str(exc)) from None
    ids = _rename_aliases(table.iloc[:0]).columns
    id_column = table.columns[list(ids).index("id")] if "id" in ids else None
    if id_column is not None:
        table = table.sort_values(id_column, kind="stable", ignore_index=True)
    log.info("%s: read %d rows of a HATS catalogue", path, len(table))
    return table


def prepare_catalog(raw: pd.DataFrame, where: str) -> pd.DataFrame:
    """Normalise a survey catalogue to the store contract.

    Renames ``id``/``ra``/``dec`` (case-insensitive, common aliases), adds ids
    ``0..N-1`` when missing, keeps non-integer ids as ``name``, decodes bytes,
    and validates.

    Parameters
    ----------
    raw : DataFrame
        One row per cutout, in cutout order.
    where : str
        File named in error messages.

    Returns
    -------
    DataFrame
        With int64 ``id`` (unique), float64 ``ra``, ``dec`` (degrees).

    Raises
    ------
    IngestError
        Missing ``ra``/``dec``, missing or duplicate ids, or ra/dec not
        finite or out of range (naming the column, row, id and value).
    """
    df = _rename_aliases(raw.reset_index(drop=True).copy())
    for col in ("ra", "dec"):
        if col not in df.columns:
            msg = (
                f"{where}: catalogue has no {col!r} column "
                f"(columns: {', '.join(map(str, df.columns)) or 'none'})"
            )
            raise IngestError(msg)
    for col in df.columns:
        if df[col].dtype == object and len(df) and isinstance(df[col].iloc[0], bytes):
            df[col] = df[col].str.decode("utf-8", errors="replace").str.strip()
    df = _integer_ids(df, where)
    for col in ("ra", "dec"):
        raw_values = df[col]
        df[col] = pd.to_numeric(raw_values, errors="coerce").astype(np.float64)
        _check_sky_column(df, col, raw_values, where)
    try:
        validate_catalog(df, where)
    except LatentskyError as exc:
        raise IngestError(str(exc)) from exc
    return df


def _rename_aliases(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with the first alias found of each of ``id``, ``ra``, ``dec`` renamed."""
    lower = {str(c).lower(): c for c in df.columns}
    renames = {}
    for target, aliases in _ALIASES.items():
        if target in df.columns:
            continue
        for alias in aliases:
            if alias in lower:
                renames[lower[alias]] = target
                break
    return df.rename(columns=renames)


def _integer_ids(df: pd.DataFrame, where: str) -> pd.DataFrame:
    """Unique int64 ``id``: row numbers when missing, non-integers kept as names."""
    if "id" not in df.columns:
        log.info("%s: no id column; assigning ids 0..%d", where, len(df) - 1)
        df.insert(0, "id", np.arange(len(df), dtype=np.int64))
    ids = df["id"]
    missing = np.flatnonzero(ids.isna().to_numpy())
    if len(missing):
        row = int(missing[0])
        more = f" (and {len(missing) - 1} more rows)" if len(missing) > 1 else ""
        msg = (
            f"{where}: column 'id' has no value ({ids.iloc[row]}) at row {row}"
            f"{more}; every source needs an id"
        )
        raise IngestError(msg)
    dup = ids[ids.duplicated()]
    if len(dup):
        msg = f"{where}: duplicate source ids {dup.unique()[:5].tolist()}"
        raise IngestError(msg)
    if not _is_integral(ids):
        name_col = "name" if "name" not in df.columns else "source_name"
        log.info(
            "%s: ids are not integers; kept as %r, new ids 0..N-1", where, name_col
        )
        df[name_col] = ids.astype(str)
        df["id"] = np.arange(len(df), dtype=np.int64)
    df["id"] = df["id"].astype(np.int64)
    return df


def _is_integral(ids: pd.Series) -> bool:
    """Whether every id is an integer (an integer dtype, or whole finite floats)."""
    if pd.api.types.is_integer_dtype(ids):
        return True
    if pd.api.types.is_float_dtype(ids):
        values = ids.to_numpy()
        return bool(np.isfinite(values).all() and (values == np.round(values)).all())
    return False


#: column -> (lowest, highest, whether the highest is allowed), in degrees
_SKY_RANGES = {"ra": (0.0, 360.0, False), "dec": (-90.0, 90.0, True)}


def _check_sky_column(
    df: pd.DataFrame, col: str, raw_values: pd.Series, where: str
) -> None:
    """Raise IngestError naming the first non-finite or out-of-range ``col`` value."""
    lo, hi, closed = _SKY_RANGES[col]
    values = df[col].to_numpy()
    with np.errstate(invalid="ignore"):
        above = values > hi if closed else values >= hi
        bad = ~np.isfinite(values) | (values < lo) | above
    rows = np.flatnonzero(bad)
    if not len(rows):
        return
    row = int(rows[0])
    value = raw_values.iloc[row]
    shown = repr(value) if isinstance(value, str) else str(value)
    more = f" (and {len(rows) - 1} more rows)" if len(rows) > 1 else ""
    interval = f"[{lo:g}, {hi:g}{']' if closed else ')'}"
    ids = df["id"].iloc[rows[:5]].tolist()
    msg = (
        f"{where}: column {col!r} is {shown} at row {row}{more}; expected finite "
        f"degrees in {interval}, for ids {ids}"
    )
    raise IngestError(msg)
