"""The drawing surface of one batch of cutouts of one kind, before the PSF."""

from __future__ import annotations

import numpy as np
from astropy.modeling.functional_models import Sersic2D

from explorer.ingest.synthetic.photometry import BANDS, F32, col, unit


class Canvas:
    """Pre-PSF images and point sources of ``k`` cutouts of one kind.

    Coordinates are pixels of the padded ``P x P`` grid; the central source
    sits at ``(x0, y0)``, within half a pixel of the grid centre.
    """

    def __init__(self, k: int, padded: int, pix: float, rng: np.random.Generator):
        self.k, self.P, self.pix, self.rng = k, padded, pix, rng
        axis = np.arange(padded, dtype=F32)
        self.gx = axis[None, None, :]
        self.gy = axis[None, :, None]
        centre = (padded - 1) / 2
        self.x0 = (centre + rng.uniform(-0.5, 0.5, k)).astype(F32)
        self.y0 = (centre + rng.uniform(-0.5, 0.5, k)).astype(F32)
        self.ext = np.zeros((k, len(BANDS), padded, padded), dtype=F32)
        self.points: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self.total = np.zeros((k, len(BANDS)), dtype=F32)

    def px(self, arcsec: np.ndarray | float) -> np.ndarray:
        """Angles in arcsec as pixels of this canvas."""
        return np.asarray(arcsec, dtype=F32) / F32(self.pix)

    def add(
        self, unit_img: np.ndarray, flux: np.ndarray, *, central: bool = True
    ) -> None:
        """Add ``(k, P, P)`` unit-flux images scaled by ``(k, 3)`` fluxes.

        ``central`` light counts in the catalogue photometry ``total``.
        """
        self.ext += unit_img[:, None] * flux[:, :, None, None]
        if central:
            self.total += flux

    def add_point(
        self,
        x: np.ndarray,
        y: np.ndarray,
        flux: np.ndarray,
        *,
        central: bool = True,
    ) -> None:
        """Add ``(k,)`` point sources of ``(k, 3)`` fluxes (drawn after the PSF).

        ``central`` sources count in the catalogue photometry ``total``.
        """
        self.points.append((np.asarray(x, F32), np.asarray(y, F32), flux))
        if central:
            self.total += flux

    def sersic(self, r_eff_px, n, x0, y0, ellip, theta) -> np.ndarray:
        """Unit-flux :class:`Sersic2D` images, ``(k, P, P)``."""
        img = Sersic2D.evaluate(
            self.gx[0],
            self.gy[0],
            F32(1.0),
            col(r_eff_px),
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
