"""Synthetic sky images with a known WCS and point sources at known RA/Dec."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS

#: the reference sky: a field at RA 150, Dec 2 (degrees)
CENTRE = (150.0, 2.0)


def tan_wcs(
    shape: tuple[int, int],
    scale_arcsec: float = 0.2,
    rotation_deg: float = 0.0,
    centre: tuple[float, float] = CENTRE,
) -> WCS:
    """A TAN WCS with ``centre`` at the image centre, rotated by ``rotation_deg``."""
    ny, nx = shape
    scale = scale_arcsec / 3600.0
    angle = np.deg2rad(rotation_deg)
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    wcs.wcs.crval = list(centre)
    wcs.wcs.crpix = [(nx + 1) / 2.0, (ny + 1) / 2.0]
    wcs.wcs.cd = scale * np.array(
        [[-np.cos(angle), np.sin(angle)], [np.sin(angle), np.cos(angle)]]
    )
    return wcs


def point_sources(
    wcs: WCS,
    shape: tuple[int, int],
    ra: np.ndarray,
    dec: np.ndarray,
    flux: np.ndarray,
    sigma_arcsec: float,
) -> np.ndarray:
    """Noise-free image: circular Gaussians of total ``flux`` at ``(ra, dec)``.

    Each Gaussian is sampled at pixel centres and normalised to sum to its
    flux over the infinite plane (sigma in pixels from the WCS scale).
    """
    from astropy.wcs.utils import proj_plane_pixel_scales

    scale = proj_plane_pixel_scales(wcs).mean() * 3600.0
    sigma = sigma_arcsec / scale
    ny, nx = shape
    yy, xx = np.mgrid[0:ny, 0:nx]
    image = np.zeros(shape, dtype=np.float64)
    xs, ys = wcs.world_to_pixel_values(ra, dec)
    for x, y, f in zip(
        np.atleast_1d(xs), np.atleast_1d(ys), np.atleast_1d(flux), strict=True
    ):
        r2 = (xx - x) ** 2 + (yy - y) ** 2
        image += f * np.exp(-0.5 * r2 / sigma**2) / (2 * np.pi * sigma**2)
    return image


def write_image(
    path: Path,
    data: np.ndarray,
    wcs: WCS | None,
    *,
    dtype=np.float32,
    extname: str | None = None,
    **header,
) -> Path:
    """One image HDU (primary) with the WCS and extra header keywords."""
    hdr = wcs.to_header() if wcs is not None else fits.Header()
    for key, value in header.items():
        hdr[key] = value
    fits.PrimaryHDU(np.asarray(data, dtype=dtype), header=hdr).writeto(path)
    return path


def sky_positions(n: int, wcs: WCS, shape: tuple[int, int], margin: float, seed: int):
    """``(ra, dec)`` of ``n`` random positions at least ``margin`` px inside."""
    rng = np.random.default_rng(seed)
    ny, nx = shape
    x = rng.uniform(margin, nx - 1 - margin, n)
    y = rng.uniform(margin, ny - 1 - margin, n)
    ra, dec = wcs.pixel_to_world_values(x, y)
    return np.asarray(ra), np.asarray(dec)


@pytest.fixture
def sky() -> dict[str, Callable]:
    """This module's helpers: tan_wcs, point_sources, write_image, sky_positions."""
    return {
        "tan_wcs": tan_wcs,
        "point_sources": point_sources,
        "write_image": write_image,
        "sky_positions": sky_positions,
    }
