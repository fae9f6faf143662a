"""The source catalogue of an image ingest: file formats and sky-coordinate checks.

CSV, Parquet and FITS tables are read by :func:`explorer.ingest.read_table_file`,
VOTables (``.xml``, ``.vot``, ``.votable``) by ``astropy.io.votable``; the
normalisation (ids, ``ra``/``dec`` aliases, ranges) is the shared
:func:`explorer.ingest.prepare_catalog`. Before it, two mistakes are caught
with a message of their own: a table without RA/Dec columns (the accepted
names are listed, and ``x``/``y`` columns are called what they are: pixel
coordinates), and RA/Dec columns that hold pixel values.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from explorer.errors import IngestError
from explorer.ingest.catalog import _ALIASES as COLUMN_ALIASES
from explorer.ingest.catalog import prepare_catalog, read_table_file
from explorer.ingest.images.bands import Band

VOTABLE_SUFFIXES = (".xml", ".vot", ".votable")
#: Column names that give a position in pixels rather than on the sky.
_PIXEL_COLUMNS = (
    ("x", "y"),
    ("x_image", "y_image"),
    ("xpix", "ypix"),
    ("xcentroid", "ycentroid"),
)


def read_catalog_file(path: Path) -> pd.DataFrame:
    """A raw catalogue table from CSV, Parquet, FITS or VOTable.

    Raises
    ------
    IngestError
        Missing, unreadable or of an unknown format (naming the file).
    """
    if not path.name.lower().endswith(VOTABLE_SUFFIXES):
        return read_table_file(path)
    if not path.is_file():
        msg = f"catalogue {path} does not exist"
        raise IngestError(msg)
    from astropy.io.votable import parse_single_table

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            table = parse_single_table(str(path)).to_table()
    except Exception as exc:  # the VOTable parser raises many types
        msg = f"catalogue {path}: not a readable VOTable ({type(exc).__name__}: {exc})"
        raise IngestError(msg) from exc
    multi = [c for c in table.colnames if table[c].ndim > 1]
    table.remove_columns(multi)
    return table.to_pandas()


def _find(columns: list[str], names: tuple[str, ...]) -> str | None:
    lower = {str(c).lower(): str(c) for c in columns}
    return next((lower[n] for n in names if n in lower), None)


def accepted_names() -> str:
    """``"ra (or ra_deg, raj2000) and dec (or ...)"``: for messages."""
    parts = []
    for col in ("ra", "dec"):
        first, *rest = COLUMN_ALIASES[col]
        parts.append(f"{first} (or {', '.join(rest)})")
    return " and ".join(parts)


def check_sky_columns(raw: pd.DataFrame, where: str, reference: Band) -> None:
    """Refuse a catalogue without RA/Dec, or with pixel values in them.

    Parameters
    ----------
    raw : DataFrame
        The table as read.
    where : str
        Catalogue file, for messages.
    reference : Band
        The first band: pixel values are judged against its tiles' shapes.

    Raises
    ------
    IngestError
        Naming the file, the columns and (for pixel values) the first row.
    """
    columns = [str(c) for c in raw.columns]
    ra_col = _find(columns, COLUMN_ALIASES["ra"])
    dec_col = _find(columns, COLUMN_ALIASES["dec"])
    if ra_col is None or dec_col is None:
        pixels = next(
            (
                pair
                for pair in _PIXEL_COLUMNS
                if all(_find(columns, (c,)) for c in pair)
            ),
            None,
        )
        what = (
            f"is in pixel coordinates (columns {', '.join(pixels)}) and has no RA/Dec"
            if pixels
            else f"has no RA/Dec columns (columns: {', '.join(columns[:12]) or 'none'})"
        )
        msg = (
            f"{where}: catalogue {what}; accepted names are {accepted_names()}, "
            "in degrees"
        )
        raise IngestError(msg)
    ra = pd.to_numeric(raw[ra_col], errors="coerce").to_numpy(dtype=float)
    dec = pd.to_numeric(raw[dec_col], errors="coerce").to_numpy(dtype=float)
    _refuse_pixel_values(ra, dec, ra_col, dec_col, where, reference)


def _refuse_pixel_values(
    ra: np.ndarray,
    dec: np.ndarray,
    ra_col: str,
    dec_col: str,
    where: str,
    reference: Band,
) -> None:
    """Raise when every position would be a pixel of a tile and none is on the sky.

    Degrees that land on no image while every ``(ra, dec)`` pair lies inside
    some tile's pixel range, or a Dec beyond +-90, are pixel coordinates.
    """
    from explorer.ingest.images.placement import place

    finite = np.isfinite(ra) & np.isfinite(dec)
    if not finite.any():
        return
    as_pixels = np.zeros(len(ra), dtype=bool)
    for tile in reference.tiles:
        ny, nx = tile.shape
        as_pixels |= (ra >= -0.5) & (ra < nx - 0.5) & (dec >= -0.5) & (dec < ny - 0.5)
    if not as_pixels[finite].all():
        return
    impossible = np.abs(dec) > 90
    sky_ok = ~impossible & finite & (ra >= 0) & (ra < 360)
    on_sky = place(reference, np.where(sky_ok, ra, 0.0), np.where(sky_ok, dec, 0.0))
    if (on_sky.on_image & sky_ok).any():
        return
    row = (
        int(np.flatnonzero(impossible)[0])
        if impossible.any()
        else int(np.flatnonzero(finite)[0])
    )
    msg = (
        f"{where}: columns {ra_col!r}/{dec_col!r} look like pixel coordinates, not "
        f"degrees: row {row} has {ra_col}={ra[row]:g}, {dec_col}={dec[row]:g}, and no "
        f"row lands on the images of band {reference.name} as a sky position; "
        "convert x/y to RA/Dec with the image WCS"
    )
    raise IngestError(msg)


def load_catalog(path: Path, reference: Band) -> pd.DataFrame:
    """Read, check and normalise a source catalogue.

    Parameters
    ----------
    path : pathlib.Path
        CSV, Parquet, FITS table or VOTable with RA/Dec in degrees.
    reference : Band
        The first band (for the pixel-coordinate check).

    Returns
    -------
    DataFrame
        As :func:`explorer.ingest.prepare_catalog` returns it.

    Raises
    ------
    IngestError
        Unreadable file, no RA/Dec, pixel coordinates, bad ids or values.
    """
    raw = read_catalog_file(path)
    if not len(raw):
        msg = f"catalogue {path} has no rows"
        raise IngestError(msg)
    check_sky_columns(raw, str(path), reference)
    return prepare_catalog(raw, str(path))
