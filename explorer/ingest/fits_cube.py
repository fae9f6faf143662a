"""Reader of one FITS cube of cutouts with its catalogue table (``fits-cube``).

The primary HDU (or first image extension) is a cube ``(N, bands, S, S)`` (or
``(N, S, S)``, one band) and the first binary table (preferably ``EXTNAME =
CATALOG``) holds ``id``, ``ra``, ``dec`` and any other columns, one row per
cutout. Band names come from the header keyword ``BANDS`` (comma separated) or
``BAND1``, ``BAND2``...; otherwise ``b0``, ``b1``... The cube is read through
``HDU.section`` (a seek and a read of one chunk at a time, no memory map), so
memory use does not grow with the survey.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from explorer.errors import IngestError
from explorer.ingest.catalog import read_table_file
from explorer.ingest.fits_common import band_names, fits_errors, fits_table, open_fits
from explorer.ingest.survey import Survey

KIND = "fits-cube"


def open_fits_cube(path: Path, catalog: Path | None) -> Survey:
    """Open a FITS cube survey (headers and catalogue only, no pixels).

    Parameters
    ----------
    path : pathlib.Path
        The FITS file.
    catalog : pathlib.Path or None
        Catalogue file replacing the file's own table HDU.

    Returns
    -------
    Survey
        Reading ``(n, bands, S, S)`` rows of the cube in its stored dtype.

    Raises
    ------
    IngestError
        Unreadable or truncated file, no or wrong-rank cube, non-square
        cutouts, no catalogue, or a catalogue of another length.
    """
    hdul = open_fits(path)
    try:
        hdu = _image_hdu(hdul, path)
        n, n_bands, size = _cube_geometry(tuple(hdu.shape), path)
        _check_complete(hdu, path)
        bands = band_names(hdu.header, n_bands, path)
        table = (
            read_table_file(catalog) if catalog is not None else fits_table(hdul, path)
        )
        if table is None:
            msg = f"{path}: no catalogue table HDU with id/ra/dec (or pass --catalog)"
            raise IngestError(msg)
        if len(table) != n:
            where = catalog or path
            msg = (
                f"{where}: catalogue has {len(table)} rows but {path} holds {n} cutouts"
            )
            raise IngestError(msg)
        section = hdu.section

        def read(start: int, stop: int) -> np.ndarray:
            with fits_errors(path):
                block = np.asarray(section[start:stop])
            return block.reshape(stop - start, n_bands, size, size)

        scale = positive_float_or_none(hdu.header.get("PIXSCALE"))
        survey = Survey(path, KIND, bands, size, table, read, [hdul.close])
        survey.pixel_scale = scale
        return survey
    except BaseException:
        hdul.close()
        raise


def _image_hdu(hdul: Any, path: Path) -> Any:
    """The first non-table HDU holding an image (the cutout cube)."""
    from astropy.io import fits

    for hdu in hdul:
        if isinstance(hdu, fits.BinTableHDU | fits.TableHDU):
            continue
        if hdu.header.get("NAXIS", 0) >= 1 and hdu.shape:
            return hdu
    msg = f"{path}: no image HDU with cutouts"
    raise IngestError(msg)


def _cube_geometry(shape: tuple[int, ...], path: Path) -> tuple[int, int, int]:
    """``(N, bands, S)`` of a cutout cube, or IngestError."""
    if len(shape) == 3:
        n, b, (h, w) = shape[0], 1, shape[1:]
    elif len(shape) == 4:
        n, b, h, w = shape
    else:
        msg = (
            f"{path}: image cube has rank {len(shape)} (shape {shape}); expected "
            "(N, bands, S, S) or (N, S, S)"
        )
        raise IngestError(msg)
    if h != w:
        msg = f"{path}: cutouts are {h}x{w} pixels, not square"
        raise IngestError(msg)
    return n, b, h


def _check_complete(hdu: Any, path: Path) -> None:
    """Raise IngestError if the file ends before the cube's data does.

    astropy only notices a truncated data unit when it is read, which for a
    section read would be deep into the ingest; the size check fails early.
    """
    info = hdu.fileinfo()
    if info and info.get("datLoc") is not None:
        expected = info["datLoc"] + hdu.size  # size is in bytes
        if path.stat().st_size < expected and not path.name.endswith(".gz"):
            msg = (
                f"{path}: FITS file is truncated ({path.stat().st_size} "
                f"bytes, data needs {expected})"
            )
            raise IngestError(msg)


def positive_float_or_none(value: object) -> float | None:
    """``value`` as a finite float > 0 (a header's PIXSCALE), else None."""
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if np.isfinite(number) and number > 0 else None
