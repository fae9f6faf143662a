"""Instrumental artefacts, drawn over an ordinary galaxy or star.

- satellite trails: straight lines through the optics (PSF-convolved), each
  affected band its own exposure, hence its own line; peak 3-150 sky sigma;
- cosmic rays: 1-3 sharp tracks of 1-8 pixels, not PSF-convolved, in exactly
  one band (a cosmic ray hits one exposure);
- bad columns: one band, a whole or partial column reading high or low;
- saturation: any pixel above full well is clipped flat and the excess charge
  bleeds up and down its column (all kinds obey it; only the very bright stars
  of ``bleed_trail`` reach it).
"""

from __future__ import annotations

import numpy as np
from scipy.special import gammaln

from explorer.ingest.synthetic import galaxies, pointlike
from explorer.ingest.synthetic.canvas import Canvas
from explorer.ingest.synthetic.optics import Optics
from explorer.ingest.synthetic.photometry import BANDS, F32, col

#: Range of the peak height of a satellite trail, in sky sigma (log-uniform).
TRAIL_PEAK_SIGMA = (3.0, 150.0)
#: Range of the per-pixel height of a cosmic-ray track, in sky sigma.
COSMIC_RAY_SIGMA = (15.0, 300.0)
#: Rows of bleed per full well of excess charge: the charge of the single
#: exposure behind the coadd spills, so bleeds are longer than the coadd's
#: excess alone implies.
BLEED_ROWS_PER_WELL = 3.0
#: Gaussian sigma (px) of a trail across its length, before the PSF.
_TRAIL_WIDTH = 0.45


def base_source(cv: Canvas) -> None:
    """An ordinary elliptical, disc or star at the centre of each cutout."""
    which = cv.rng.choice(3, cv.k, p=[0.32, 0.42, 0.26])
    for i, render in enumerate((galaxies.elliptical, galaxies.disc, pointlike.star)):
        rows = np.flatnonzero(which == i)
        if len(rows):
            part = cv.sub(rows)
            render(part)
            cv.merge(part, rows)


def line_peak(gamma_px: np.ndarray, beta: float) -> np.ndarray:
    """Peak of a unit-flux-per-pixel line seen through a Moffat PSF (1/px)."""
    log_ratio = gammaln(beta - 0.5) - gammaln(beta)
    return (beta - 1) * np.exp(log_ratio) / (np.sqrt(np.pi) * gamma_px)


def satellite_trail(cv: Canvas) -> None:
    """An ordinary source crossed by a straight trail in one, two or three bands."""
    base_source(cv)
    rng, k = cv.rng, cv.k
    n_bands = rng.choice([1, 2, 3], k, p=[0.6, 0.3, 0.1])
    order = np.argsort(rng.random((k, len(BANDS))), axis=1)
    for j in range(len(BANDS)):
        rows = np.flatnonzero(n_bands > j)
        band = order[rows, j]
        angle = rng.uniform(0, np.pi, len(rows))
        impact = rng.uniform(-0.35, 0.35, len(rows)) * cv.P
        dist = (
            (cv.gx[0] - col(cv.x0[rows])) * np.sin(col(angle))
            - (cv.gy[0] - col(cv.y0[rows])) * np.cos(col(angle))
            - col(impact)
        )
        line = np.exp(-0.5 * (dist / _TRAIL_WIDTH) ** 2) / (
            np.sqrt(2 * np.pi) * _TRAIL_WIDTH
        )
        peak = np.exp(rng.uniform(*np.log(TRAIL_PEAK_SIGMA), len(rows)))
        # flux per unit length that gives this peak after the PSF
        per_len = peak * cv.sky[band] / line_peak(cv.gamma[rows, band], cv.beta)
        cv.ext[rows, band] += (line * col(per_len)).astype(F32)


def bright_star(cv: Canvas) -> None:
    """Stars of r = 10.5-13 whose cores saturate and bleed."""
    pointlike.star(cv, mag=cv.rng.uniform(10.5, 13.0, cv.k))


def cosmic_rays(img: np.ndarray, optics: Optics, rng: np.random.Generator) -> None:
    """Add 1-3 sharp tracks to ONE band of each ``(k, 3, S, S)`` cutout, in place."""
    k, _, size, _ = img.shape
    band = rng.integers(0, len(BANDS), k)
    hits = rng.integers(1, 4, k)
    for i in range(k):
        for _ in range(hits[i]):
            length = rng.choice([0.0, rng.uniform(1.0, 8.0)], p=[0.3, 0.7])
            steps = max(int(length * 2) + 1, 1)
            angle = rng.uniform(0, np.pi)
            x0, y0 = rng.uniform(0.1 * size, 0.9 * size, 2)
            t = np.linspace(-length / 2, length / 2, steps)
            xs = np.clip(np.rint(x0 + t * np.cos(angle)), 0, size - 1).astype(int)
            ys = np.clip(np.rint(y0 + t * np.sin(angle)), 0, size - 1).astype(int)
            pix = np.unique(ys * size + xs)
            height = (
                np.exp(rng.uniform(*np.log(COSMIC_RAY_SIGMA))) * optics.sky[band[i]]
            )
            plane = img[i, band[i]].reshape(-1)
            plane[pix] += height * rng.uniform(0.6, 1.0, len(pix))


def bad_columns(img: np.ndarray, optics: Optics, rng: np.random.Generator) -> None:
    """Replace a whole or partial column of one band with high or low values."""
    k, _, size, _ = img.shape
    for i in range(k):
        band = rng.integers(0, len(BANDS))
        x = rng.integers(int(0.1 * size), int(0.9 * size))
        width = rng.choice([1, 2], p=[0.8, 0.2])
        start = 0 if rng.random() < 0.5 else rng.integers(0, size // 2)
        stop = size if rng.random() < 0.5 else rng.integers(start + size // 4, size + 1)
        sky = optics.sky[band]
        level = rng.choice([-1.0, 1.0]) * rng.uniform(5.0, 40.0) * sky
        region = img[i, band, start:stop, x : x + width]
        region[...] = level + rng.normal(0, 0.5 * sky, region.shape)


def saturate(img: np.ndarray, optics: Optics, rng: np.random.Generator) -> np.ndarray:
    """Clip pixels at full well and bleed the excess along columns, in place.

    Returns
    -------
    ndarray
        ``(k, 3, S, S)`` bool mask of saturated (clipped or bled) pixels.
    """
    sat = optics.saturation[None, :, None, None]
    mask = img >= sat
    for i, b in zip(*np.nonzero(mask.any(axis=(2, 3))), strict=True):
        plane, level = img[i, b], optics.saturation[b]
        size = plane.shape[0]
        up_share = rng.uniform(0.3, 0.7)
        for x in np.flatnonzero(mask[i, b].any(axis=0)):
            rows = np.flatnonzero(mask[i, b, :, x])
            # the charge above full well spills into neighbouring rows
            spill = BLEED_ROWS_PER_WELL * (plane[rows, x] - level).sum() / level
            lo = max(int(rows.min() - spill * up_share), 0)
            hi = min(int(rows.max() + spill * (1 - up_share)) + 1, size)
            plane[lo:hi, x] = level
            mask[i, b, lo:hi, x] = True
    np.minimum(img, sat, out=img)
    return mask
