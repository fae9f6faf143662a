"""Neighbours of the central source: catalogue-depth companions and faint field.

Companions are drawn independently of the central kind: a share
``SurveySettings.companion_rate`` of cutouts gets 1-3 galaxies or stars at
catalogue depth, about a third of them close enough to overlap (a blend).
Every cutout also gets faint field galaxies below the detection limit.
"""

from __future__ import annotations

import numpy as np

from explorer.ingest.synthetic.canvas import Canvas
from explorer.ingest.synthetic.photometry import F32, count_mags, fluxes

#: Centre distance (arcsec) below which a detected companion is blended.
BLEND_RADIUS = 2.5


def _place(cv: Canvas, rows: np.ndarray, near: np.ndarray) -> tuple[np.ndarray, ...]:
    """Positions (padded-grid px) and centre distance (arcsec) of neighbours."""
    m = len(rows)
    field = cv.settings.field_arcsec
    dist = np.where(
        near,
        cv.rng.uniform(0.6, BLEND_RADIUS, m),
        cv.rng.uniform(BLEND_RADIUS, 0.55 * field, m),
    )
    angle = cv.rng.uniform(0, 2 * np.pi, m)
    x = cv.x0[rows] + cv.px(dist) * np.cos(angle)
    y = cv.y0[rows] + cv.px(dist) * np.sin(angle)
    return x.astype(F32), y.astype(F32), dist


def _galaxies(cv: Canvas, rows, x, y, mag, size_18: float) -> None:
    """Add Sersic galaxies at ``(x, y)`` to the cutouts ``rows``."""
    rng, m = cv.rng, len(rows)
    r_eff = np.clip(
        size_18 * 10 ** (-0.12 * (mag - 18)) * rng.lognormal(0, 0.3, m), 0.15, 6
    )
    part = cv.sub(rows)
    img = part.sersic(
        cv.px(r_eff),
        rng.uniform(1.0, 4.0, m),
        x,
        y,
        rng.uniform(0.0, 0.7, m),
        rng.uniform(0, np.pi, m),
    )
    flux = fluxes(mag, rng.uniform(0.4, 1.8, m), rng.uniform(0.3, 1.3, m))
    cv.ext[rows] += img[:, None] * flux[:, :, None, None]


def companions(cv: Canvas) -> np.ndarray:
    """Add catalogue-depth neighbours; the nearest detected one's distance.

    Returns
    -------
    ndarray
        ``(k,)`` centre distance in arcsec of the nearest companion brighter
        than the magnitude limit (``inf`` where none).
    """
    rng, k = cv.rng, cv.k
    limit = cv.settings.mag_limit
    count = np.where(
        rng.random(k) < cv.settings.companion_rate,
        rng.choice([1, 2, 3], k, p=[0.55, 0.3, 0.15]),
        0,
    )
    nearest = np.full(k, np.inf)
    for slot in range(3):
        rows = np.flatnonzero(count > slot)
        if not len(rows):
            continue
        m = len(rows)
        near = rng.random(m) < 0.35
        x, y, dist = _place(cv, rows, near)
        mag = count_mags(rng, m, 17.0, limit + 0.5, 0.35)
        detected = mag <= limit
        nearest[rows] = np.where(
            detected, np.minimum(nearest[rows], dist), nearest[rows]
        )
        is_star = rng.random(m) < 0.25
        gal = np.flatnonzero(~is_star)
        if len(gal):
            _galaxies(cv, rows[gal], x[gal], y[gal], mag[gal], 2.2)
        star_flux = fluxes(mag, rng.uniform(0.3, 1.4, m), rng.uniform(0.1, 0.8, m))
        xs, ys = np.zeros(k, F32), np.zeros(k, F32)
        full = np.zeros((k, 3), F32)
        xs[rows], ys[rows], full[rows] = x, y, star_flux * is_star[:, None]
        cv.add_point(xs, ys, full)
    return nearest


def faint_field(cv: Canvas) -> None:
    """Add galaxies 0-2.5 mag below the detection limit scattered over the field."""
    rng, k = cv.rng, cv.k
    limit = cv.settings.mag_limit
    for prob in (0.7, 0.5, 0.3):
        rows = np.flatnonzero(rng.random(k) < prob)
        if not len(rows):
            continue
        m = len(rows)
        x = rng.uniform(0, cv.P, m).astype(F32)
        y = rng.uniform(0, cv.P, m).astype(F32)
        mag = count_mags(rng, m, limit, limit + 2.5, 0.35)
        _galaxies(cv, rows, x, y, mag, 1.8)
