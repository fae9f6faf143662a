"""Source detection with ``sep`` (SExtractor's algorithms as a library).

Per tile of the detection band: a spatially varying background
(``sep.Background``, 64-pixel meshes) is subtracted, NaN/blank pixels are
masked, and ``sep.extract`` finds groups of at least ``min_area`` connected
pixels above ``sigma`` times the background RMS, deblended (32 thresholds,
contrast 0.005, SExtractor's defaults). Where tiles overlap, a detection is
kept only in the tile that :func:`~explorer.ingest.images.placement.place`
assigns its position to, so a source is listed once.

Per-band aperture fluxes are measured later on the cutouts
(:func:`aperture_fluxes`), where every band is on the same grid.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from explorer.errors import IngestError
from explorer.ingest.images.bands import Band, Tile
from explorer.ingest.images.placement import place

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DetectionSettings:
    """How sources are found.

    Attributes
    ----------
    sigma : float
        Threshold per pixel in units of the background RMS.
    min_area : int
        Minimum connected pixels above the threshold.
    deblend_nthresh : int
        Deblending sub-thresholds.
    deblend_cont : float
        Minimum contrast ratio for deblending (1 disables it).
    """

    sigma: float = 3.0
    min_area: int = 5
    deblend_nthresh: int = 32
    deblend_cont: float = 0.005


def _detect_tile(tile: Tile, settings: DetectionSettings) -> pd.DataFrame:
    """Detections on one tile: pixel positions, shapes, fluxes and flags."""
    import sep

    data = tile.read_all()
    mask = ~np.isfinite(data)
    data[mask] = 0.0
    bkg = sep.Background(data, mask=mask, bw=64, bh=64, fw=3, fh=3)
    sub = data - bkg.back()
    # the default pixel stack (300k) overflows on large crowded images
    sep.set_extract_pixstack(max(300_000, data.size // 10))
    sep.set_sub_object_limit(4096)
    try:
        objects = sep.extract(
            sub,
            settings.sigma,
            err=bkg.globalrms,
            mask=mask,
            minarea=settings.min_area,
            deblend_nthresh=settings.deblend_nthresh,
            deblend_cont=settings.deblend_cont,
        )
    except Exception as exc:  # sep raises a bare Exception on buffer overflows
        msg = f"image {tile.label}: source detection failed ({exc})"
        raise IngestError(msg) from exc
    x, y = objects["x"].astype(float), objects["y"].astype(float)
    radius, radius_flag = sep.flux_radius(
        sub, x, y, 6.0 * objects["a"], 0.5, normflux=objects["flux"], subpix=5
    )
    return pd.DataFrame(
        {
            "x": x,
            "y": y,
            "a": objects["a"].astype(float),
            "b": objects["b"].astype(float),
            "theta": objects["theta"].astype(float),
            "flux_radius": radius.astype(float),
            "flux_iso": objects["flux"].astype(float),
            "peak": objects["peak"].astype(float),
            "npix": objects["npix"].astype(np.int64),
            "sep_flag": (objects["flag"] | radius_flag).astype(np.int32),
            "background_rms": np.full(len(objects), float(bkg.globalrms)),
        }
    )


def detect_sources(band: Band, settings: DetectionSettings) -> pd.DataFrame:
    """Detect sources on every tile of ``band``.

    Parameters
    ----------
    band : Band
        The detection band (celestial WCS on every tile).
    settings : DetectionSettings
        Threshold, minimum area and deblending.

    Returns
    -------
    DataFrame
        ``id`` (0..N-1), ``ra``, ``dec`` (degrees), ``x``, ``y`` (0-based
        pixels of the detecting tile), ``a``, ``b`` (pixels), ``theta``
        (radians), ``flux_radius`` (half-light radius, pixels), ``flux_iso``,
        ``peak``, ``npix``, ``sep_flag`` and ``detect_tile``.

    Raises
    ------
    IngestError
        If nothing is detected (naming the band and its files).
    """
    parts = []
    for index, tile in enumerate(band.tiles):
        found = _detect_tile(tile, settings)
        ra, dec = tile.wcs.pixel_to_world_values(
            found["x"].to_numpy(), found["y"].to_numpy()
        )
        found.insert(0, "ra", np.mod(np.asarray(ra, dtype=float), 360.0))
        found.insert(1, "dec", np.asarray(dec, dtype=float))
        found["detect_tile"] = index
        if len(band.tiles) > 1 and len(found):
            owner = place(band, found["ra"].to_numpy(), found["dec"].to_numpy()).tile
            found = found[owner == index]
        log.info("%s: %d sources detected", tile.label, len(found))
        parts.append(found)
    table = pd.concat(parts, ignore_index=True)
    if not len(table):
        files = ", ".join(t.label for t in band.tiles[:3])
        msg = (
            f"no sources detected in band {band.name} ({files}) above "
            f"{settings.sigma:g} sigma with at least {settings.min_area} pixels"
        )
        raise IngestError(msg)
    table.insert(0, "id", np.arange(len(table), dtype=np.int64))
    return table


def aperture_fluxes(
    pixels: np.ndarray, position: np.ndarray, radius: float
) -> np.ndarray:
    """Circular-aperture fluxes per band, local background from an annulus.

    Parameters
    ----------
    pixels : ndarray
        ``(n, bands, S, S)`` cutouts (NaN pixels are masked).
    position : ndarray
        ``(n, 2)`` source ``(x, y)`` inside each cutout.
    radius : float
        Aperture radius in pixels.

    Returns
    -------
    ndarray
        ``(n, bands)`` float64 background-subtracted sums; the annulus spans
        ``radius + 2`` to ``S / 2 - 1`` pixels when that is at least 2 pixels
        wide, otherwise no background is subtracted.
    """
    import sep

    n, nb, size, _ = pixels.shape
    inner, outer = radius + 2.0, size / 2.0 - 1.0
    annulus = (inner, outer) if outer - inner >= 2.0 else None
    flux = np.empty((n, nb), dtype=np.float64)
    for i in range(n):
        for b in range(nb):
            image = np.ascontiguousarray(pixels[i, b], dtype=np.float32)
            mask = ~np.isfinite(image)
            if mask.any():
                image = np.where(mask, 0.0, image).astype(np.float32)
            value, _, _ = sep.sum_circle(
                image,
                position[i : i + 1, 0],
                position[i : i + 1, 1],
                radius,
                mask=mask,
                bkgann=annulus,
                subpix=5,
            )
            flux[i, b] = value[0]
    return flux
