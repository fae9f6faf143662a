"""The drawing surface of one batch of cutouts of one kind, before the PSF."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from astropy.modeling.functional_models import Gaussian2D, Sersic2D

from explorer.ingest.synthetic.photometry import BANDS, F32, col, count_mags, unit

if TYPE_CHECKING:
    from explorer.ingest.synthetic.optics import Optics
    from explorer.ingest.synthetic.settings import SurveySettings


class Canvas:
    """Pre-PSF images and point sources of ``k`` cutouts of one kind.

    Coordinates are pixels of the padded ``P x P`` grid; the central source
    sits at ``(x0, y0)``, within half a pixel of the grid centre.

    Parameters
    ----------
    k : int
        Number of cutouts.
    optics : Optics
        Grid (padded side ``P``, pixel scale), sky noise and settings.
    rng : numpy.random.Generator
        Random stream of the renderers.
    gamma : ndarray
        ``(k, 3)`` Moffat width (px) of each cutout's PSF in each band, for
        renderers whose amplitude is set after the PSF (satellite trails).
    """

    def __init__(
        self, k: int, optics: Optics, rng: np.random.Generator, gamma: np.ndarray
    ) -> None:
        self.k, self.optics, self.rng, self.gamma = k, optics, rng, gamma
        self.P, self.pix, self.sky = optics.P, optics.pix, optics.sky
        self.settings: SurveySettings = optics.settings
        self.beta = optics.beta
        axis = np.arange(self.P, dtype=F32)
        self.gx = axis[None, None, :]
        self.gy = axis[None, :, None]
        centre = (self.P - 1) / 2
        self.x0 = (centre + rng.uniform(-0.5, 0.5, k)).astype(F32)
        self.y0 = (centre + rng.uniform(-0.5, 0.5, k)).astype(F32)
        self.ext = np.zeros((k, len(BANDS), self.P, self.P), dtype=F32)
        self.points: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []

    def sub(self, rows: np.ndarray) -> Canvas:
        """A fresh canvas of the cutouts ``rows`` (same centres and stream)."""
        part = Canvas(len(rows), self.optics, self.rng, self.gamma[rows])
        part.x0, part.y0 = self.x0[rows], self.y0[rows]
        return part

    def merge(self, part: Canvas, rows: np.ndarray) -> None:
        """Add the light of ``part`` (made by :meth:`sub`) into ``rows``."""
        self.ext[rows] += part.ext
        for x, y, f in part.points:
            xs, ys = np.zeros(self.k, F32), np.zeros(self.k, F32)
            full = np.zeros((self.k, len(BANDS)), F32)
            xs[rows], ys[rows], full[rows] = x, y, f
            self.points.append((xs, ys, full))

    def px(self, arcsec: np.ndarray | float) -> np.ndarray:
        """Angles in arcsec as pixels of this canvas."""
        return np.asarray(arcsec, dtype=F32) / F32(self.pix)

    def mags(
        self, bright: float, slope: float, faint: float | None = None
    ) -> np.ndarray:
        """``(k,)`` r magnitudes from number counts down to the survey limit."""
        limit = self.settings.mag_limit if faint is None else faint
        return count_mags(self.rng, self.k, bright, limit, slope)

    def add(self, unit_img: np.ndarray, flux: np.ndarray) -> None:
        """Add ``(k, P, P)`` unit-flux images scaled by ``(k, 3)`` fluxes."""
        self.ext += unit_img[:, None] * flux[:, :, None, None]

    def add_point(self, x: np.ndarray, y: np.ndarray, flux: np.ndarray) -> None:
        """Add ``(k,)`` point sources of ``(k, 3)`` fluxes (drawn after the PSF)."""
        self.points.append((np.asarray(x, F32), np.asarray(y, F32), flux))

    def sersic(self, r_eff_px, n, x0, y0, ellip, theta) -> np.ndarray:
        """Unit-flux :class:`Sersic2D` images, ``(k, P, P)``."""
        img = Sersic2D.evaluate(
            self.gx[0],
            self.gy[0],
            F32(1.0),
            col(np.maximum(r_eff_px, 0.25)),
            col(n),
            col(x0),
            col(y0),
            col(ellip),
            col(theta),
        )
        return unit(img)

    def disc_frame(self, x0, y0, ellip, theta) -> tuple[np.ndarray, np.ndarray]:
        """Deprojected radius (px) and azimuth of every pixel of an inclined disc."""
        dx = self.gx[0] - col(x0)
        dy = self.gy[0] - col(y0)
        c, s = np.cos(col(theta)), np.sin(col(theta))
        u = dx * c + dy * s
        v = (-dx * s + dy * c) / (1.0 - col(ellip))
        return np.hypot(u, v), np.arctan2(v, u)

    def blobs(self, x: np.ndarray, y: np.ndarray, sigma: np.ndarray) -> np.ndarray:
        """Sum of :class:`Gaussian2D` blobs at ``(k, m)`` positions, unit flux."""
        img = Gaussian2D.evaluate(
            self.gx[None],
            self.gy[None],
            F32(1.0),
            np.asarray(x, F32)[:, :, None, None],
            np.asarray(y, F32)[:, :, None, None],
            np.asarray(sigma, F32)[:, :, None, None],
            np.asarray(sigma, F32)[:, :, None, None],
            F32(0.0),
        )
        return unit(img.sum(axis=1))
