"""Optics and detector of the synthetic survey: pixel grid, Moffat PSF, noise.

Each source has its own seeing in each band (the bands are separate
exposures): an r-band FWHM drawn uniformly from the settings' range, and g, z
at the mean atmospheric ratio times a log-normal jitter. PSFs are tabulated at
:data:`SEEING_LEVELS` FWHM values per band and every cutout uses the nearest.
"""

from __future__ import annotations

import numpy as np
import scipy.fft
from astropy.modeling.functional_models import Moffat2D

from explorer.ingest.synthetic.photometry import BANDS, F32
from explorer.ingest.synthetic.settings import SurveySettings

#: Reference pixel scale (arcsec) at which ``SurveySettings.sky_sigma`` and
#: :data:`SATURATION` are given.
REFERENCE_PIXEL = 0.25
#: Nanomaggies per detected photo-electron: source variance = flux * INV_GAIN.
INV_GAIN = np.array([0.0025, 0.002, 0.004], dtype=np.float32)
#: Full-well level per 0.25 arcsec pixel (nanomaggies), g, r, z: stars
#: brighter than r ~ 14.5 saturate in their core.
SATURATION = np.array([150.0, 150.0, 150.0], dtype=np.float32)
#: Number of tabulated seeing values per band.
SEEING_LEVELS = 24


def moffat_gamma(fwhm_px: np.ndarray, beta: float) -> np.ndarray:
    """Moffat core width ``gamma`` (px) of a FWHM in pixels."""
    return fwhm_px / (2.0 * np.sqrt(2.0 ** (1.0 / beta) - 1.0))


class Optics:
    """Grids, noise levels and PSF transforms of one cutout size and settings.

    Parameters
    ----------
    size : int
        Cutout side ``S`` in pixels.
    settings : SurveySettings
        Observing settings.

    Attributes
    ----------
    pad, P : int
        Padding of the pre-PSF grid and its side ``P = S + 2 pad`` (pixels).
    pix : float
        Pixel scale in arcsec.
    sky, saturation : ndarray
        ``(3,)`` sky noise and full-well level per pixel (nanomaggies).
    fwhm_arcsec, gamma : ndarray
        ``(3, SEEING_LEVELS)`` tabulated FWHM (arcsec) and Moffat width (px).
    kernel_ft : ndarray
        ``(3, SEEING_LEVELS, P, P // 2 + 1)`` real FFT of each PSF.
    """

    def __init__(self, size: int, settings: SurveySettings) -> None:
        self.size, self.settings = size, settings
        self.beta = settings.moffat_beta
        self.pad = max(4, size // 8)
        self.P = size + 2 * self.pad
        self.pix = settings.pixel_scale(size)
        scale = self.pix / REFERENCE_PIXEL
        self.sky = (np.asarray(settings.sky_sigma) * scale).astype(F32)
        self.saturation = (SATURATION * scale**2).astype(F32)
        ratio = np.asarray(settings.seeing_ratio)[:, None]
        spread = np.exp(2.0 * settings.seeing_jitter)
        lo, hi = settings.seeing_r
        base = np.linspace(lo / spread, hi * spread, SEEING_LEVELS)[None, :]
        self.fwhm_arcsec = (base * ratio).astype(F32)
        self.gamma = moffat_gamma(self.fwhm_arcsec / self.pix, self.beta).astype(F32)
        wrap = np.minimum(np.arange(self.P), self.P - np.arange(self.P)).astype(F32)
        kernel = Moffat2D.evaluate(
            wrap[None, None, None, :],
            wrap[None, None, :, None],
            F32(1.0),
            F32(0.0),
            F32(0.0),
            self.gamma[:, :, None, None],
            F32(self.beta),
        )
        kernel /= kernel.sum(axis=(-2, -1), keepdims=True)
        self.kernel_ft = scipy.fft.rfft2(kernel.astype(F32))
        axis = np.arange(size, dtype=F32)
        self.cx, self.cy = axis[None, None, None, :], axis[None, None, :, None]

    def draw_seeing(self, rng: np.random.Generator, k: int) -> np.ndarray:
        """``(k, 3)`` PSF table index of every cutout and band."""
        s = self.settings
        seeing_r = rng.uniform(*s.seeing_r, k)
        jitter = rng.lognormal(0.0, s.seeing_jitter, (k, len(BANDS)))
        jitter[:, 1] = 1.0  # r is the reference exposure
        fwhm = seeing_r[:, None] * np.asarray(s.seeing_ratio)[None, :] * jitter
        idx = [
            np.abs(fwhm[:, b, None] - self.fwhm_arcsec[b][None, :]).argmin(axis=1)
            for b in range(len(BANDS))
        ]
        return np.stack(idx, axis=1)


_CACHE: dict[tuple[int, SurveySettings], Optics] = {}


def optics_for(size: int, settings: SurveySettings) -> Optics:
    """The (cached) :class:`Optics` of ``size`` px cutouts under ``settings``."""
    key = (size, settings)
    if key not in _CACHE:
        _CACHE[key] = Optics(size, settings)
    return _CACHE[key]


def convolve(
    ext: np.ndarray,
    points: list[tuple[np.ndarray, np.ndarray, np.ndarray]],
    level: np.ndarray,
    optics: Optics,
) -> np.ndarray:
    """Noiseless observed image: PSF-convolve, crop, add point sources.

    Parameters
    ----------
    ext : ndarray
        ``(k, 3, P, P)`` pre-PSF extended light (nanomaggies per pixel).
    points : list of (x, y, flux)
        Point sources: ``(k,)`` padded-grid pixel positions and ``(k, 3)``
        fluxes (rows of zero flux are skipped).
    level : ndarray
        ``(k, 3)`` PSF table index of each cutout and band.
    optics : Optics
        Grids and PSFs of this cutout size.

    Returns
    -------
    ndarray
        ``(k, 3, S, S)`` float32 (nanomaggies per pixel).
    """
    bands = np.arange(len(BANDS))[None, :]
    # scipy's pocketfft keeps float32 and is ~3x faster than numpy's here
    ft = scipy.fft.rfft2(ext) * optics.kernel_ft[bands, level]
    img = scipy.fft.irfft2(ft, s=ext.shape[-2:]).astype(F32, copy=False)
    pad, size = optics.pad, optics.size
    img = np.ascontiguousarray(img[:, :, pad : pad + size, pad : pad + size])
    gamma = optics.gamma[bands, level][:, :, None, None]  # (k, bands, 1, 1)
    norm = (optics.beta - 1) / (np.pi * gamma**2)
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
            F32(optics.beta),
        )
    return img


def add_noise(img: np.ndarray, optics: Optics, rng: np.random.Generator) -> None:
    """Add sky, source (Poisson-like) noise and a small sky offset, in place.

    Parameters
    ----------
    img : ndarray
        ``(k, 3, S, S)`` noiseless image (nanomaggies per pixel).
    optics : Optics
        Gives the sky noise per pixel.
    rng : numpy.random.Generator
        Random stream of the noise.
    """
    sky = optics.sky[None, :, None, None]
    sigma = np.sqrt(sky**2 + np.maximum(img, 0) * INV_GAIN[None, :, None, None])
    img += rng.standard_normal(img.shape, dtype=F32) * sigma
    img += rng.normal(0, 0.15, (len(img), len(BANDS), 1, 1)).astype(F32) * sky
