"""Renderers of point-like kinds: stars, brown dwarfs, high-redshift quasars.

Brown dwarfs and quasars share g-dropout colours (their colour distributions
overlap on purpose, as in seed 000): a quasar differs only by a faint
extended host/halo, a brown dwarf is a bare point source.
"""

from __future__ import annotations

import numpy as np

from explorer.ingest.synthetic.canvas import Canvas
from explorer.ingest.synthetic.photometry import fluxes


def star(cv: Canvas, mag: np.ndarray | None = None) -> None:
    """Point sources on the stellar colour locus (counts rise slowly).

    ``mag`` (r, ``(k,)``) defaults to star counts from r = 16 to the limit.
    """
    rng, k = cv.rng, cv.k
    mag = cv.mags(16.0, 0.12) if mag is None else mag
    g_r = np.clip(rng.gamma(2.5, 0.25, k) + 0.2, 0.2, 1.6)
    r_z = np.where(g_r < 1.2, 0.1 + 0.55 * g_r, 0.76 + 1.9 * (g_r - 1.2))
    cv.add_point(cv.x0, cv.y0, fluxes(mag, g_r, r_z + rng.normal(0, 0.05, k)))


def brown_dwarf(cv: Canvas) -> None:
    """Cool L/T dwarfs: bare point sources with very red g - r and r - z."""
    rng, k = cv.rng, cv.k
    mag = cv.mags(18.5, 0.2)
    g_r = rng.normal(2.6, 0.35, k)
    r_z = rng.normal(2.2, 0.4, k)
    cv.add_point(cv.x0, cv.y0, fluxes(mag, g_r, r_z))


def red_quasar(cv: Canvas) -> None:
    """High-redshift quasars: a g dropout point source plus a faint host/halo."""
    rng, k = cv.rng, cv.k
    mag = cv.mags(19.5, 0.3)
    total = fluxes(mag, rng.normal(2.5, 0.35, k), rng.normal(2.0, 0.4, k))
    host = rng.uniform(0.12, 0.3, k)[:, None]
    cv.add_point(cv.x0, cv.y0, total * (1 - host))
    img = cv.sersic(
        cv.px(rng.uniform(0.6, 1.2, k)),
        np.ones(k),
        cv.x0 + rng.normal(0, 0.5, k),
        cv.y0 + rng.normal(0, 0.5, k),
        rng.uniform(0.0, 0.5, k),
        rng.uniform(0, np.pi, k),
    )
    cv.add(img, total * host)
