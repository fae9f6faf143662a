"""Catalogue measurements made on the noisy cutouts, as a detection pipeline would.

Nothing here knows the kind of a source: fluxes, size and flags come from
the observed pixels (and, for ``BLENDED``, from where the detected neighbours
are; for ``EDGE``, from the sky position).
"""

from __future__ import annotations

import numpy as np

from explorer.ingest.synthetic.neighbours import BLEND_RADIUS
from explorer.ingest.synthetic.optics import Optics
from explorer.ingest.synthetic.photometry import BANDS, F32, ZEROPOINT

#: Radius (arcsec) of the photometric aperture.
APERTURE_RADIUS = 1.5
#: Gaussian weight sigma (arcsec) of the second-moment size.
SIZE_WEIGHT_SIGMA = 1.2
#: Bits of the ``flags`` column.
FLAG_SATURATED = 1
FLAG_BLENDED = 2
FLAG_EDGE = 4


def _radius_grid(optics: Optics) -> np.ndarray:
    """``(S, S)`` distance in arcsec of each pixel from the cutout centre."""
    centre = (optics.size - 1) / 2
    yy, xx = np.mgrid[: optics.size, : optics.size]
    return np.hypot(xx - centre, yy - centre) * optics.pix


def photometry(
    img: np.ndarray, level: np.ndarray, optics: Optics
) -> tuple[np.ndarray, np.ndarray]:
    """Aperture fluxes corrected to total for a point source, and their error.

    Parameters
    ----------
    img : ndarray
        ``(k, 3, S, S)`` observed cutouts (nanomaggies).
    level : ndarray
        ``(k, 3)`` PSF table index (the correction uses each cutout's PSF).
    optics : Optics
        Grid and PSFs.

    Returns
    -------
    flux, error : ndarray
        ``(k, 3)`` float32 nanomaggies: flux (may be negative) and sky error.
    """
    inside = _radius_grid(optics) <= APERTURE_RADIUS
    raw = img[:, :, inside].sum(axis=-1, dtype=np.float64)
    gamma = optics.gamma[np.arange(len(BANDS))[None, :], level]
    radius_px = APERTURE_RADIUS / optics.pix
    enclosed = 1 - (1 + radius_px**2 / gamma**2) ** (1 - optics.beta)
    error = optics.sky[None, :] * np.sqrt(inside.sum()) / enclosed
    return (raw / enclosed).astype(F32), error.astype(F32)


def magnitudes(flux: np.ndarray, error: np.ndarray) -> np.ndarray:
    """AB magnitudes; below one sigma, the one-sigma upper limit."""
    return (ZEROPOINT - 2.5 * np.log10(np.maximum(flux, error))).astype(F32)


def size(img_r: np.ndarray, optics: Optics) -> np.ndarray:
    """Gaussian-weighted second-moment radius of ``(k, S, S)`` r images (arcsec).

    ``sqrt((Mxx + Myy) / 2)`` about the cutout centre, PSF included; noise
    can push it anywhere in ``[0, SIZE_WEIGHT_SIGMA]`` for faint sources.
    """
    r = _radius_grid(optics)
    weight = np.exp(-0.5 * (r / SIZE_WEIGHT_SIGMA) ** 2)
    w_img = img_r * weight
    norm = w_img.sum(axis=(1, 2), dtype=np.float64)
    moment = (w_img * r**2).sum(axis=(1, 2), dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        m2 = np.where(norm > 0, moment / norm / 2, 0.0)
    return np.sqrt(np.clip(m2, 0.0, SIZE_WEIGHT_SIGMA**2)).astype(F32)


def flags(saturated: np.ndarray, nearest: np.ndarray, optics: Optics) -> np.ndarray:
    """``SATURATED`` and ``BLENDED`` bits of each cutout.

    Parameters
    ----------
    saturated : ndarray
        ``(k, 3, S, S)`` bool mask of saturated pixels.
    nearest : ndarray
        ``(k,)`` distance (arcsec) of the nearest detected neighbour.
    optics : Optics
        Grid.

    Returns
    -------
    ndarray
        ``(k,)`` int32 flag bits.
    """
    core = _radius_grid(optics) <= 2.0
    sat = saturated[:, :, core].any(axis=(1, 2))
    blended = nearest < BLEND_RADIUS
    return (sat * FLAG_SATURATED + blended * FLAG_BLENDED).astype(np.int32)
