"""The photometric system of the synthetic survey: bands, zero point, fluxes.

Also the small array helpers every renderer shares (float32 columns that
broadcast over a pixel grid, unit-flux normalisation) and the magnitude
distribution of number counts.
"""

from __future__ import annotations

import numpy as np

BANDS: tuple[str, ...] = ("g", "r", "z")
#: Photometric zero point: pixel values are nanomaggies.
ZEROPOINT = 22.5
F32 = np.float32


def col(a: np.ndarray | float) -> np.ndarray:
    """Shape ``(k,)`` parameters as ``(k, 1, 1)`` to broadcast over a grid."""
    return np.asarray(a, dtype=F32)[:, None, None]


def unit(img: np.ndarray) -> np.ndarray:
    """Normalise each ``(..., P, P)`` image to unit sum (total flux 1)."""
    total = img.sum(axis=(-2, -1), keepdims=True, dtype=np.float64)
    return (img / np.maximum(total, 1e-30)).astype(F32, copy=False)


def fluxes(mag_r: np.ndarray, g_r: np.ndarray, r_z: np.ndarray) -> np.ndarray:
    """``(k, 3)`` g, r, z fluxes in nanomaggies from r magnitude and colours."""
    mags = np.stack([mag_r + g_r, mag_r, mag_r - r_z], axis=1)
    return (10.0 ** (-0.4 * (mags - ZEROPOINT))).astype(F32)


def count_mags(
    rng: np.random.Generator, k: int, bright: float, faint: float, slope: float
) -> np.ndarray:
    """Magnitudes drawn from number counts ``dN/dm ~ 10^(slope m)``.

    Parameters
    ----------
    rng : numpy.random.Generator
        Random stream.
    k : int
        How many.
    bright, faint : float
        Magnitude range (``bright < faint``).
    slope : float
        Log-slope of the counts (about 0.35 for galaxies at r ~ 20-23, 0.1
        for stars at high latitude); > 0 means most sources are faint.

    Returns
    -------
    ndarray
        ``(k,)`` float64 magnitudes in ``[bright, faint]``.
    """
    span = 10.0 ** (slope * (faint - bright)) - 1.0
    return bright + np.log10(1.0 + rng.random(k) * span) / slope
