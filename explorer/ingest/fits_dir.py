"""Reader of a directory of per-source FITS files plus a catalogue (``fits-dir``).

Each file (``*.fits``, ``*.fit``, ``*.fits.gz``...) is either one
``(bands, S, S)`` cube or one 2-D image HDU per band. The catalogue is the
``--catalog`` CSV / FITS / Parquet file, or a ``catalog.csv|fits|parquet``
inside the directory. A ``file`` / ``filename`` / ``path`` column names each
row's file; otherwise a file's stem must equal the row's ``id`` (or ``name``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from explorer.errors import IngestError
from explorer.ingest.catalog import CATALOG_SUFFIXES, read_table_file
from explorer.ingest.fits_common import (
    FITS_SUFFIXES,
    band_names,
    fits_errors,
    open_fits,
)
from explorer.ingest.survey import Survey

KIND = "fits-dir"
#: Stem of the catalogue looked for inside the directory (an input
#: convention of this reader, not a store name).
CATALOG_STEM = "catalog"
_FILE_COLUMNS = ("file", "filename", "path")


def open_fits_dir(directory: Path, catalog: Path | None) -> Survey:
    """Open a directory of FITS cutouts (catalogue and first file only).

    Parameters
    ----------
    directory : pathlib.Path
        Folder of per-source FITS files.
    catalog : pathlib.Path or None
        Catalogue file; None looks for ``catalog.csv|fits|parquet`` inside.

    Returns
    -------
    Survey
        Reading ``(n, bands, S, S)`` float32 rows, one file per row.

    Raises
    ------
    IngestError
        No catalogue or no cutouts, counts that differ, rows without a file,
        or (while reading) files of another size or band count.
    """
    catalog = catalog or _find_catalog(directory)
    table = read_table_file(catalog)
    files = _cutout_files(directory, catalog)
    if not files:
        msg = f"{directory}: no FITS cutouts (*.fits) in the directory"
        raise IngestError(msg)
    if len(table) != len(files):
        msg = (
            f"{catalog}: catalogue has {len(table)} rows but {directory} "
            f"holds {len(files)} FITS cutouts"
        )
        raise IngestError(msg)
    paths = _match_files(table, files, directory, str(catalog))
    first, bands = read_cutout_file(paths[0])
    size = first.shape[-1]

    def read(start: int, stop: int) -> np.ndarray:
        block = np.empty((stop - start, len(bands), size, size), dtype=np.float32)
        for i, path in enumerate(paths[start:stop]):
            data, _ = read_cutout_file(path)
            _check_like_first(data, path, paths[0], len(bands), size)
            with np.errstate(over="ignore", invalid="ignore"):
                block[i] = data
        return block

    return Survey(directory, KIND, bands, size, table, read)


def read_cutout_file(path: Path) -> tuple[np.ndarray, list[str]]:
    """Pixels and band names of one per-source FITS file.

    Parameters
    ----------
    path : pathlib.Path
        A file holding one ``(bands, S, S)`` cube or one 2-D image per band.

    Returns
    -------
    data : ndarray
        ``(bands, S, S)`` pixels in the file's dtype.
    names : list of str
        Band names (``b0..`` when the headers do not name them uniquely).

    Raises
    ------
    IngestError
        Unreadable file, no image, other image layouts, or non-square images.
    """
    hdul = open_fits(path)
    try:
        with fits_errors(path):
            images = [h for h in hdul if h.is_image and h.header.get("NAXIS", 0) >= 2]
            if not images:
                msg = f"{path}: no image HDU"
                raise IngestError(msg)
            if len(images) == 1 and images[0].header["NAXIS"] == 3:
                data = np.asarray(images[0].data)
                names = band_names(images[0].header, data.shape[0], path)
            elif all(h.header["NAXIS"] == 2 for h in images):
                data, names = _stack_band_images(images, path)
            else:
                dims = [h.header["NAXIS"] for h in images]
                msg = (
                    f"{path}: expected one (bands, S, S) cube or 2-D band "
                    f"images, found image ranks {dims}"
                )
                raise IngestError(msg)
    finally:
        hdul.close()
    if data.shape[-1] != data.shape[-2]:
        msg = f"{path}: cutout is {data.shape[-2]}x{data.shape[-1]} pixels, not square"
        raise IngestError(msg)
    return data, names


def _stack_band_images(images: list[Any], path: Path) -> tuple[np.ndarray, list[str]]:
    """``(bands, S, S)`` from one 2-D HDU per band, named by BAND/FILTER/EXTNAME."""
    shapes = {h.data.shape for h in images}
    if len(shapes) > 1:
        msg = f"{path}: band images have different shapes {sorted(shapes)}"
        raise IngestError(msg)
    data = np.stack([np.asarray(h.data) for h in images])
    names = []
    for i, h in enumerate(images):
        hdr = h.header
        name = hdr.get("BAND", hdr.get("FILTER", h.name if h.name != "PRIMARY" else ""))
        names.append(str(name).strip() or f"b{i}")
    if len(set(names)) != len(names):
        names = [f"b{i}" for i in range(len(images))]
    return data, names


def _check_like_first(
    data: np.ndarray, path: Path, first: Path, n_bands: int, size: int
) -> None:
    """Raise IngestError if a file's geometry differs from the first file's."""
    if data.shape[-2:] != (size, size):
        msg = (
            f"{path}: mixed cutout sizes: {data.shape[-2]}x{data.shape[-1]} px "
            f"but {first.name} is {size}x{size}"
        )
        raise IngestError(msg)
    if data.shape[0] != n_bands:
        msg = f"{path}: has {data.shape[0]} bands but {first.name} has {n_bands}"
        raise IngestError(msg)


def _find_catalog(directory: Path) -> Path:
    """The ``catalog.<suffix>`` file inside ``directory``, or IngestError."""
    for suffix in CATALOG_SUFFIXES:
        candidate = directory / f"{CATALOG_STEM}{suffix}"
        if candidate.exists():
            return candidate
    msg = (
        f"{directory}: a directory of cutouts needs a catalogue with ra/dec: pass "
        "--catalog or put catalog.csv / catalog.fits / catalog.parquet in it"
    )
    raise IngestError(msg)


def _cutout_files(directory: Path, catalog: Path) -> list[Path]:
    """The FITS files of ``directory`` other than the catalogue, sorted by name."""
    return sorted(
        p
        for p in directory.iterdir()
        if p.is_file()
        and p.name.lower().endswith(FITS_SUFFIXES)
        and p.resolve() != catalog.resolve()
    )


def _match_files(
    table: pd.DataFrame, files: list[Path], directory: Path, where: str
) -> list[Path]:
    """The file of each catalogue row, in row order."""
    lower = {str(c).lower(): c for c in table.columns}
    link = next((lower[c] for c in _FILE_COLUMNS if c in lower), None)
    if link is not None:
        paths = [directory / str(v).strip() for v in table[link]]
        for row, p in enumerate(paths):
            if not p.is_file():
                msg = f"{where}: row {row} names file {p.name!r}, not in {directory}"
                raise IngestError(msg)
        return paths
    by_stem = {p.name.split(".")[0]: p for p in files}
    key = next((lower[c] for c in ("id", "name", "objid") if c in lower), None)
    if key is None:
        msg = f"{where}: catalogue needs a 'file' column or ids that match file names"
        raise IngestError(msg)
    paths = []
    for value in table[key]:
        stem = str(value).strip()
        if stem not in by_stem:
            msg = (
                f"{where}: no cutout file named {stem}.fits in {directory} "
                f"for {key}={value!r}"
            )
            raise IngestError(msg)
        paths.append(by_stem[stem])
    return paths
