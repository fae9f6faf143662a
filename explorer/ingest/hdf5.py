"""Reader of an HDF5 file in the Galaxy10-DECaLS layout (``hdf5``).

``images`` is ``(N, S, S, 3)`` uint8 (scaled to float32 in [0, 1]; other
dtypes are read as they are, channels first or last, or ``(N, S, S)`` for one
band); ``ra``, ``dec`` and the optional ``ans`` labels are 1-D datasets, and
every 1-D dataset of length ``N`` becomes a catalogue column. Three channels
are named ``g, r, z`` unless the ``images`` dataset has a ``bands`` attribute.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from explorer.errors import IngestError
from explorer.ingest.catalog import read_table_file
from explorer.ingest.survey import Survey

KIND = "hdf5"
HDF5_SUFFIXES = (".h5", ".hdf5", ".hdf", ".he5")


def open_hdf5(path: Path, catalog: Path | None) -> Survey:
    """Open a Galaxy10-style HDF5 survey (shapes and 1-D datasets only).

    Parameters
    ----------
    path : pathlib.Path
        The HDF5 file.
    catalog : pathlib.Path or None
        Catalogue file replacing the file's 1-D datasets.

    Returns
    -------
    Survey
        Reading ``(n, bands, S, S)`` float32 rows (uint8 scaled by 1/255).

    Raises
    ------
    IngestError
        Unreadable file, no ``images`` dataset, wrong rank, non-square
        images, or a catalogue of another length.
    """
    import h5py

    try:
        h5 = h5py.File(path, "r")
    except OSError as exc:
        msg = f"{path}: not a readable HDF5 file ({exc})"
        raise IngestError(msg) from exc
    try:
        if "images" not in h5:
            msg = f"{path}: HDF5 file has no 'images' dataset (Galaxy10-DECaLS layout)"
            raise IngestError(msg)
        images = h5["images"]
        shape, channels_last, n_bands, size = _layout(tuple(images.shape), path)
        table = _catalog(h5, shape[0], catalog, path)
        bands = _bands(images, n_bands)
        scale = 1 / 255 if images.dtype == np.uint8 else 1.0

        def read(start: int, stop: int) -> np.ndarray:
            try:
                block = images[start:stop]
            except OSError as exc:
                msg = f"{path}: cannot read images {start}..{stop - 1} ({exc})"
                raise IngestError(msg) from exc
            block = block.reshape(stop - start, *shape[1:]).astype(
                np.float32
            ) * np.float32(scale)
            return block.transpose(0, 3, 1, 2) if channels_last else block

        return Survey(path, KIND, bands, size, table, read, [h5.close])
    except BaseException:
        h5.close()
        raise


def _layout(
    shape: tuple[int, ...], path: Path
) -> tuple[tuple[int, ...], bool, int, int]:
    """Rank-4 shape, whether channels come last, band count and side ``S``."""
    if len(shape) == 3:
        channels_last, n_bands = True, 1
        shape = (*shape, 1)
    elif len(shape) == 4:
        # (N, S, S, B) unless the last two axes are the square ones
        channels_last = shape[1] == shape[2] or shape[2] != shape[3]
        n_bands = shape[3] if channels_last else shape[1]
    else:
        msg = (
            f"{path}: 'images' has rank {len(shape)} (shape {shape}); "
            "expected (N, S, S, bands)"
        )
        raise IngestError(msg)
    h, w = (shape[1], shape[2]) if channels_last else (shape[2], shape[3])
    if h != w:
        msg = f"{path}: cutouts are {h}x{w} pixels, not square"
        raise IngestError(msg)
    return shape, channels_last, n_bands, h


def _catalog(h5: Any, n: int, catalog: Path | None, path: Path) -> pd.DataFrame:
    """The ``--catalog`` file, or every 1-D dataset of length ``n`` as a column."""
    import h5py

    if catalog is not None:
        table = read_table_file(catalog)
    else:
        columns = {
            name: _decode(ds[()])
            for name, ds in h5.items()
            if isinstance(ds, h5py.Dataset) and ds.ndim == 1 and ds.shape[0] == n
        }
        table = pd.DataFrame(columns)
    if len(table) != n:
        msg = (
            f"{catalog or path}: catalogue has {len(table)} rows but "
            f"{path} holds {n} images"
        )
        raise IngestError(msg)
    return table


def _bands(images: Any, n_bands: int) -> list[str]:
    """Band names from the ``bands`` attribute, else ``g, r, z`` or ``b0..``."""
    attr_bands = images.attrs.get("bands")
    if attr_bands is not None and len(attr_bands) == n_bands:
        return [b.decode() if isinstance(b, bytes) else str(b) for b in attr_bands]
    if n_bands == 3:
        return ["g", "r", "z"]
    return [f"b{i}" for i in range(n_bands)]


def _decode(values: np.ndarray) -> np.ndarray:
    """Byte strings as Python strings (object array); other arrays unchanged."""
    if values.dtype.kind == "S" or (
        values.dtype == object and len(values) and isinstance(values[0], bytes)
    ):
        return np.array(
            [v.decode("utf-8", errors="replace") for v in values], dtype=object
        )
    return values
