"""FITS access shared by the FITS readers and the catalogue reader.

Opening a file, translating astropy's errors into :class:`IngestError`, the
catalogue table HDU and band names from header keywords.
"""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from explorer.errors import IngestError, LatentskyError

log = logging.getLogger(__name__)

FITS_SUFFIXES = (".fits", ".fit", ".fts", ".fits.gz", ".fit.gz", ".fz")


@contextlib.contextmanager
def fits_errors(path: Path) -> Iterator[None]:
    """Turn astropy's errors on unreadable files into IngestError.

    Parameters
    ----------
    path : pathlib.Path
        File named in the message.

    Raises
    ------
    IngestError
        For any OS or parsing error raised inside the block.
    """
    try:
        yield
    except LatentskyError:
        raise
    except (OSError, ValueError, TypeError, KeyError, IndexError, EOFError) as exc:
        msg = f"{path}: not a readable FITS file ({type(exc).__name__}: {exc})"
        raise IngestError(msg) from exc


def open_fits(path: Path) -> Any:
    """``fits.open`` that raises IngestError for corrupt or truncated files.

    Parameters
    ----------
    path : pathlib.Path
        FITS file.

    Returns
    -------
    astropy.io.fits.HDUList
        Opened without memory map, all HDUs loaded; the caller closes it.

    Raises
    ------
    IngestError
        If the file is unreadable, truncated or has no HDUs.
    """
    from astropy.io import fits

    with fits_errors(path), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        hdul = fits.open(path, memmap=False, lazy_load_hdus=False)
    for w in caught:
        text = str(w.message)
        if "truncated" in text.lower():
            hdul.close()
            msg = f"{path}: FITS file is truncated ({text})"
            raise IngestError(msg)
        log.warning("%s: %s", path, text)
    if not len(hdul):
        hdul.close()
        msg = f"{path}: FITS file has no HDUs"
        raise IngestError(msg)
    return hdul


def fits_table(hdul: Any, path: Path) -> pd.DataFrame | None:
    """The ``CATALOG`` (or first) table HDU as a DataFrame.

    Parameters
    ----------
    hdul : astropy.io.fits.HDUList
        Opened file.
    path : pathlib.Path
        File named in messages.

    Returns
    -------
    DataFrame or None
        One row per table row, multi-dimensional columns dropped (with a
        warning); None when the file has no table HDU.
    """
    from astropy.io import fits
    from astropy.table import Table

    tables = [h for h in hdul if isinstance(h, fits.BinTableHDU | fits.TableHDU)]
    if not tables:
        return None
    named = [h for h in tables if h.name.upper() == "CATALOG"]
    hdu = (named or tables)[0]
    with fits_errors(path):
        table = Table(hdu.data, copy=False) if hdu.data is not None else Table()
        multi = [c for c in table.colnames if table[c].ndim > 1]
        if multi:
            log.warning("%s: dropping multi-dimensional columns %s", path, multi)
            table.remove_columns(multi)
        return table.to_pandas()


def band_names(header: Any, n_bands: int, path: Path) -> list[str]:
    """Band names from ``BANDS`` or ``BAND1..`` keywords, else ``b0..``.

    Parameters
    ----------
    header : astropy.io.fits.Header
        Header of the image HDU.
    n_bands : int
        Number of bands of the image.
    path : pathlib.Path
        File named in messages.

    Returns
    -------
    list of str
        ``n_bands`` names; a single band may also be named by ``FILTER`` or
        ``BAND``.

    Raises
    ------
    IngestError
        If ``BANDS`` names a different number of bands than the image holds.
    """
    if "BANDS" in header:
        names = [b.strip() for b in str(header["BANDS"]).split(",") if b.strip()]
        if len(names) != n_bands:
            msg = (
                f"{path}: header BANDS={header['BANDS']!r} names {len(names)} "
                f"bands, cube has {n_bands}"
            )
            raise IngestError(msg)
        return names
    names = [str(header.get(f"BAND{i}", "")).strip() for i in range(1, n_bands + 1)]
    if all(names) and len(set(names)) == n_bands:
        return names
    if n_bands == 1:
        single = str(header.get("FILTER", header.get("BAND", ""))).strip()
        if single:
            return [single]
    return [f"b{i}" for i in range(n_bands)]
