"""``ingest_images``: survey images (+ a catalogue, or detection) -> a store.

Everything that can be refused is checked before the store builder starts
(files, WCSs, catalogue columns, positions); the builder writes into a
temporary directory published only when complete, so a failure leaves no
half-written store. Cutouts are streamed to the builder ``chunk`` sources at
a time, NaN-filled by the shared :func:`explorer.ingest.fill_nonfinite`.

Catalogue columns added: ``x``, ``y`` (0-based pixel of the source in its
first-band tile, when the catalogue has no such columns), ``edge`` (the
largest fraction of a band's cutout outside its image), ``n_saturated``
(pixels at or above the header's ``SATURATE`` level), ``n_masked`` (NaN or
blank pixels filled, outside-image padding included), ``tile`` (the first
band's file, with tile lists) and, for detected sources, ``flux_<band>``
(circular-aperture flux in each band, in the first band's pixel units).
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from explorer.errors import IngestError
from explorer.ingest.catalog import prepare_catalog
from explorer.ingest.core import DEFAULT_CHUNK, _check_losses
from explorer.ingest.images.bands import (
    Band,
    ImageFiles,
    check_bands,
    open_band,
    open_mef,
)
from explorer.ingest.images.catalog import load_catalog
from explorer.ingest.images.cutouts import Resampler, cut_sources
from explorer.ingest.images.detect import (
    DetectionSettings,
    aperture_fluxes,
    detect_sources,
)
from explorer.ingest.images.placement import Placement, place
from explorer.ingest.nanfill import fill_nonfinite
from explorer.store import Store

log = logging.getLogger(__name__)

#: ids of off-image sources shown in a message
SHOWN_IDS = 10


@dataclass
class ImageIngest:
    """What :func:`ingest_images` did.

    Attributes
    ----------
    store : Store
        The new store.
    n_off : int
        Catalogue sources skipped because they are off an image.
    off_ids : list of int
        The first of their ids.
    detected : bool
        Whether the catalogue came from detection.
    seconds : float
        Wall time.
    """

    store: Store
    n_off: int = 0
    off_ids: list[int] = field(default_factory=list)
    detected: bool = False
    seconds: float = 0.0


@dataclass(frozen=True)
class CutoutSettings:
    """How cutouts are made: side, resampling, aperture radius."""

    size: int = 64
    resample: str = "interp"
    aperture: float = 4.0


DEFAULT_CUTOUTS = CutoutSettings()
DEFAULT_DETECTION = DetectionSettings()


def open_bands(
    files: ImageFiles, band_specs: Sequence[str], mef: str | os.PathLike[str] | None
) -> list[Band]:
    """The bands of ``--mef`` (first) then of each ``--band``, checked.

    Raises
    ------
    IngestError
        No band, or any problem of :func:`~explorer.ingest.images.bands.check_bands`.
    """
    bands = open_mef(files, Path(mef)) if mef is not None else []
    bands += [open_band(files, spec) for spec in band_specs]
    if not bands:
        raise IngestError(
            "no images: give --band NAME=FILE (one per band) or --mef FILE"
        )
    check_bands(bands)
    return bands


def _off_image(
    table: pd.DataFrame, bands: list[Band], placements: list[Placement], where: str
) -> tuple[np.ndarray, str]:
    """``(off, message)``: the sources off some band's images, and the first named."""
    off = np.zeros(len(table), dtype=bool)
    for placement in placements:
        off |= ~placement.on_image
    if not off.any():
        return off, ""
    row = int(np.flatnonzero(off)[0])
    band = next(
        b for b, p in zip(bands, placements, strict=True) if not p.on_image[row]
    )
    files = ", ".join(str(t.path) for t in band.tiles[:2])
    more = f" and {len(band.tiles) - 2} more" if len(band.tiles) > 2 else ""
    message = (
        f"{where}: {int(off.sum())} of {len(table)} sources lie off the images; "
        f"the first, row {row} (id {int(table['id'].iloc[row])}, ra "
        f"{table['ra'].iloc[row]:.6f}, dec {table['dec'].iloc[row]:.6f}), is off "
        f"band {band.name} ({files}{more})"
    )
    return off, message


def _source_table(
    bands: list[Band],
    catalog: str | os.PathLike[str] | None,
    detect_band: str | None,
    detection: DetectionSettings,
) -> tuple[pd.DataFrame, str]:
    """The normalised catalogue (read, or detected) and where it came from."""
    if catalog is not None:
        return load_catalog(Path(catalog), bands[0]), str(catalog)
    names = [b.name for b in bands]
    if detect_band is not None and detect_band not in names:
        msg = f"--detect-band {detect_band!r} is not a band (bands: {', '.join(names)})"
        raise IngestError(msg)
    band = bands[names.index(detect_band)] if detect_band else bands[0]
    where = f"detection on band {band.name} ({band.tiles[0].path})"
    return prepare_catalog(detect_sources(band, detection), where), where


def ingest_images(
    store_root: str | os.PathLike[str],
    band_specs: Sequence[str] = (),
    *,
    mef: str | os.PathLike[str] | None = None,
    catalog: str | os.PathLike[str] | None = None,
    cutouts: CutoutSettings = DEFAULT_CUTOUTS,
    detection: DetectionSettings = DEFAULT_DETECTION,
    detect_band: str | None = None,
    strict: bool = False,
    overwrite: bool = False,
    force: bool = False,
    chunk: int = DEFAULT_CHUNK,
    progress: bool = True,
) -> ImageIngest:
    """Cut a store out of survey images.

    Parameters
    ----------
    store_root : path-like
        Store to create (see :func:`explorer.ingest.ingest`).
    band_specs : sequence of str
        ``NAME=FILE``, ``NAME=FILE[HDU]`` or ``NAME=@TILE_LIST``, in band order.
    mef : path-like, optional
        Multi-extension FITS file, one band per image HDU (before ``band_specs``).
    catalog : path-like, optional
        CSV, Parquet, FITS table or VOTable with RA/Dec (degrees); without
        it sources are detected on ``detect_band`` (default the first).
    cutouts : CutoutSettings
        Cutout side ``S`` (pixels of the first band), resampling method for
        bands on other grids, aperture radius (pixels) for detected fluxes.
    detection : DetectionSettings
        Threshold, minimum area and deblending of the detection.
    detect_band : str, optional
        Band to detect on.
    strict : bool
        Refuse a catalogue with sources off the images instead of skipping them.
    overwrite, force : bool
        Replace an existing store (``force``: also one with versions).
    chunk : int
        Sources cut and written per step (memory ~ chunk x bands x S^2 x 4 B).
    progress : bool
        Show a tqdm progress bar.

    Returns
    -------
    ImageIngest

    Raises
    ------
    IngestError
        Any bad input, naming the file and the row or value; no store is
        written then.
    StoreError
        If ``store_root`` is taken (see :func:`explorer.ingest.ingest`).
    """
    started = time.perf_counter()
    if chunk < 1:
        msg = f"chunk must be >= 1, got {chunk}"
        raise IngestError(msg)
    if overwrite:
        _check_losses(Path(store_root), force)
    files = ImageFiles()
    with contextlib.closing(files):
        bands = open_bands(files, band_specs, mef)
        table, where = _source_table(bands, catalog, detect_band, detection)
        ra, dec = table["ra"].to_numpy(), table["dec"].to_numpy()
        placements = [place(band, ra, dec) for band in bands]
        off, message = _off_image(table, bands, placements, where)
        if off.all() or (strict and off.any()):
            raise IngestError(message + ("" if off.all() else " (--strict)"))
        if off.any():
            log.warning("%s; skipped", message)
        keep = np.flatnonzero(~off)
        table = _with_positions(table, bands, placements, catalog is None)
        store = _write(
            store_root,
            bands,
            placements,
            table,
            keep,
            where,
            cutouts,
            detected=catalog is None,
            overwrite=overwrite,
            chunk=chunk,
            progress=progress,
        )
    off_ids = table["id"].to_numpy()[off][:SHOWN_IDS].tolist()
    return ImageIngest(
        store, int(off.sum()), off_ids, catalog is None, time.perf_counter() - started
    )


def _with_positions(
    table: pd.DataFrame, bands: list[Band], placements: list[Placement], detected: bool
) -> pd.DataFrame:
    """``table`` with the first band's pixel position (and tile, for tile lists)."""
    table = table.copy()
    first = placements[0]
    if detected or not {"x", "y"} & set(table.columns):
        table["x"] = first.x
        table["y"] = first.y
    if len(bands[0].tiles) > 1:
        names = np.array([t.path.name for t in bands[0].tiles] + [""], dtype=object)
        table["tile"] = names[first.tile]
    return table


def _write(
    store_root: str | os.PathLike[str],
    bands: list[Band],
    placements: list[Placement],
    table: pd.DataFrame,
    keep: np.ndarray,
    where: str,
    cutouts: CutoutSettings,
    *,
    detected: bool,
    overwrite: bool,
    chunk: int,
    progress: bool,
) -> Store:
    """Stream the cutouts of rows ``keep`` into a new store."""
    from tqdm.auto import tqdm

    resampler = Resampler(cutouts.resample)
    names = [b.name for b in bands]
    builder = Store.build(
        store_root,
        names,
        cutouts.size,
        overwrite=overwrite,
        source=where,
        pixel_scale=reference_pixel_scale(bands[0]),
    )
    with (
        builder,
        tqdm(total=len(keep), unit="src", desc="cut", disable=not progress) as bar,
    ):
        for start in range(0, len(keep), chunk):
            rows = keep[start : start + chunk]
            block = cut_sources(bands, placements, rows, cutouts.size, resampler)
            part = table.iloc[rows].copy()
            if detected:
                flux = aperture_fluxes(block.pixels, block.position, cutouts.aperture)
                for b, name in enumerate(names):
                    part[f"flux_{name}"] = flux[:, b]
            part["edge"] = block.edge
            part["n_saturated"] = block.n_saturated
            filled, part["n_masked"] = fill_nonfinite(block.pixels)
            builder.append(filled, part)
            bar.update(len(rows))
    assert builder.store is not None
    return builder.store


def reference_pixel_scale(band: Band) -> float | None:
    """Arcsec per pixel of the reference band's first image (the cutout grid)."""
    from astropy.wcs.utils import proj_plane_pixel_scales

    wcs = band.tiles[0].wcs if band.tiles else None
    if wcs is None:
        return None
    scales = np.abs(proj_plane_pixel_scales(wcs)) * 3600.0
    value = float(np.sqrt(scales[0] * scales[1]))
    return value if np.isfinite(value) and value > 0 else None
