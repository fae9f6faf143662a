"""Optics and detector of the synthetic survey: pixel scale, Moffat PSF, sky, noise.

Every cutout is convolved with a per-cutout, per-band Moffat PSF (seeing
worse in g, better in z) and gets sky noise plus source (Poisson-like) noise.
"""

from __future__ import annotations

import numpy as np
from astropy.modeling.functional_models import Moffat2D

from explorer.ingest.synthetic.photometry import BANDS, F32

#: Pixel scale in arcsec for 64 px cutouts; other sizes cover the same
#: 16 arcsec field (coarser or finer pixels), so sources keep their framing.
PIXEL_SCALE_64 = 0.25
#: Sky noise per pixel (nanomaggies) in g, r, z.
SKY_SIGMA = np.array([0.010, 0.014, 0.032], dtype=np.float32)
#: Nanomaggies per detected photo-electron: source variance = flux * INV_GAIN.
INV_GAIN = np.array([0.0025, 0.002, 0.004], dtype=np.float32)
#: Moffat PSF power index (beta).
MOFFAT_ALPHA = 3.5
#: Seeing FWHM in arcsec: r-band range, and g, z relative to r.
SEEING_R = (0.65, 1.05)
SEEING_RATIO = np.array([1.10, 1.0, 0.90], dtype=np.float32)
#: Number of distinct seeing values (PSFs are precomputed for each).
SEEING_LEVELS = 24


def moffat_gamma(fwhm_px: np.ndarray) -> np.ndarray:
    """Moffat core width ``gamma`` (px) of a FWHM in pixels (beta = MOFFAT_ALPHA)."""
    return fwhm_px / (2.0 * np.sqrt(2.0 ** (1.0 / MOFFAT_ALPHA) - 1.0))


# ----------------------------------------------------------------- the PSF
class Optics:
    """Grids and PSF transforms for one cutout size (cached per size).

    Parameters
    ----------
    size : int
        Cutout side ``S`` in pixels.

    Attributes
    ----------
    pad, P : int
        Padding of the pre-PSF grid and its side ``P = S + 2 pad`` (pixels).
    pix : float
        Pixel scale in arcsec.
    fwhm_arcsec, gamma : ndarray
        ``(SEEING_LEVELS, 3)`` seeing FWHM (arcsec) and Moffat width (px).
    kernel_ft : ndarray
        ``(SEEING_LEVELS, 3, P, P // 2 + 1)`` real FFT of each PSF.
    cx, cy : ndarray
        Pixel coordinates of the cropped cutout, broadcastable to
        ``(k, 3, S, S)``.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self.pad = max(4, size // 8)
        self.P = size + 2 * self.pad
        self.pix = PIXEL_SCALE_64 * 64 / size
        levels = np.linspace(*SEEING_R, SEEING_LEVELS)
        self.fwhm_arcsec = (levels[:, None] * SEEING_RATIO[None, :]).astype(F32)
        self.gamma = moffat_gamma(self.fwhm_arcsec / self.pix).astype(F32)
        wrap = np.minimum(np.arange(self.P), self.P - np.arange(self.P)).astype(F32)
        kernel = Moffat2D.evaluate(
            wrap[None, None, None, :],
            wrap[None, None, :, None],
            F32(1.0),
            F32(0.0),
            F32(0.0),
            self.gamma[:, :, None, None],
            F32(MOFFAT_ALPHA),
        )
        kernel /= kernel.sum(axis=(-2, -1), keepdims=True)
        self.kernel_ft = np.fft.rfft2(kernel.astype(F32))  # (levels, bands, P, P/2+1)
        axis = np.arange(size, dtype=F32)
        self.cx, self.cy = axis[None, None, None, :], axis[None, None, :, None]


_CACHE: dict[int, Optics] = {}


def optics_for(size: int) -> Optics:
    """The (cached) :class:`Optics` of cutouts of ``size`` pixels."""
    if size not in _CACHE:
        _CACHE[size] = Optics(size)
    return _CACHE[size]


def observe(
    ext: np.ndarray,
    points: list[tuple[np.ndarray, np.ndarray, np.ndarray]],
    level: np.ndarray,
    optics: Optics,
    rng: np.random.Generator,
) -> np.ndarray:
    """Convolve with the PSF, crop, add point sources, sky and source noise.

    Parameters
    ----------
    ext : ndarray
        ``(k, 3, P, P)`` pre-PSF extended light (nanomaggies per pixel).
    points : list of (x, y, flux)
        Point sources: ``(k,)`` padded-grid pixel positions and ``(k, 3)``
        fluxes (rows of zero flux are skipped).
    level : ndarray
        ``(k,)`` seeing level of each cutout (index into the PSF table).
    optics : Optics
        Grids and PSFs of this cutout size.
    rng : numpy.random.Generator
        Random stream of the noise.

    Returns
    -------
    ndarray
        ``(k, 3, S, S)`` float32 observed cutouts (nanomaggies).
    """
    k = len(ext)
    ft = np.fft.rfft2(ext) * optics.kernel_ft[level]
    img = np.fft.irfft2(ft, s=ext.shape[-2:]).astype(F32)
    pad, size = optics.pad, optics.size
    img = np.ascontiguousarray(img[:, :, pad : pad + size, pad : pad + size])
    gamma = optics.gamma[level][:, :, None, None]  # (k, bands, 1, 1)
    norm = (MOFFAT_ALPHA - 1) / (np.pi * gamma**2)
    for x, y, flux in points:
        sub = np.flatnonzero(flux.any(axis=1))
        if not len(sub):
            continue
        img[sub] += Moffat2D.evaluate(
            optics.cx,
            optics.cy,
            (flux[sub][:, :, None, None] * norm[sub]).astype(F32),
            (x[sub] - pad)[:, None, None, None],
            (y[sub] - pad)[:, None, None, None],
            gamma[sub],
            F32(MOFFAT_ALPHA),
        )
    sky = SKY_SIGMA[None, :, None, None]
    sigma = np.sqrt(sky**2 + np.maximum(img, 0) * INV_GAIN[None, :, None, None])
    noise = rng.standard_normal(img.shape, dtype=F32) * sigma
    offset = rng.normal(0, 0.15, (k, len(BANDS), 1, 1)).astype(F32) * sky
    return img + noise + offset
