"""A synthetic multi-band (g, r, z) imaging survey for demos, tests and benchmarks.

Every source is drawn from :mod:`astropy.modeling` profiles, evaluated in
vectorised batches (the models' ``evaluate`` methods broadcast over a whole
batch of parameter sets at once, which is what makes 20 000 cutouts take
seconds rather than minutes):

==================  ========================================================
kind                what it looks like
==================  ========================================================
``elliptical``      red de Vaucouleurs-like :class:`~astropy.modeling.
                    functional_models.Sersic2D` (n = 3-5.5), smooth
``disc``            red Sersic bulge + blue exponential disc, half of them
                    with two blue logarithmic spiral arms; some edge-on
``star``            a point source (Moffat PSF) on the stellar colour locus
``red_quasar``      a point source much redder in g-r than any star
                    (high-redshift-quasar-like g dropout)
``merger``          two overlapping galaxies with curved blue tidal tails
``ring``            collisional ring galaxy: knotty blue :class:`Ring2D`
                    ring around an offset red nucleus (rare)
``lens_arc``        bright red elliptical with a blue gravitational arc
                    (and often a counter-image) at the Einstein radius (rare)
``satellite_trail`` an ordinary source crossed by a straight trail that is
                    present in one band only (rare artefact)
==================  ========================================================

Every cutout also holds faint background galaxies and stars, is convolved with
a per-cutout, per-band Moffat PSF (seeing worse in g, better in z), and gets
sky noise plus source (Poisson-like) noise. Pixel values are in nanomaggies
(magnitude = 22.5 - 2.5 log10 flux). The kind of each source is stored only
in the hidden catalogue column ``_truth_label`` (for evaluation).

Sky positions fall in a 4 x 4 deg patch: galaxies partly in Gaussian clumps
(ellipticals and lenses most strongly clustered, like galaxy clusters), stars
and artefacts uniformly.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd
from astropy.modeling.functional_models import (
    Gaussian1D,
    Gaussian2D,
    Moffat2D,
    Ring2D,
    Sersic2D,
)

log = logging.getLogger(__name__)

BANDS: tuple[str, ...] = ("g", "r", "z")
#: Photometric zero point: pixel values are nanomaggies.
ZEROPOINT = 22.5
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
_SEEING_LEVELS = 24

#: Fraction of the survey of each kind (sums to 1).
KIND_FRACTIONS: dict[str, float] = {
    "elliptical": 0.27,
    "disc": 0.35,
    "star": 0.22,
    "red_quasar": 0.05,
    "merger": 0.09,
    "ring": 0.0075,
    "lens_arc": 0.0075,
    "satellite_trail": 0.005,
}
KINDS: tuple[str, ...] = tuple(KIND_FRACTIONS)
#: Kinds that are rare (< 1 % each): the targets of anomaly detection.
RARE_KINDS: frozenset[str] = frozenset({"ring", "lens_arc", "satellite_trail"})

#: Centre (RA, Dec) and side of the survey patch in degrees.
PATCH_CENTER = (150.1, 2.2)
PATCH_SIDE = 4.0
_N_CLUMPS = 14
#: Probability that a source of each kind sits in a clump.
_CLUSTERED = {
    "elliptical": 0.65,
    "disc": 0.3,
    "merger": 0.5,
    "ring": 0.3,
    "lens_arc": 0.7,
}
_TRACTOR_TYPE = {
    "elliptical": "DEV",
    "disc": "EXP",
    "star": "PSF",
    "red_quasar": "PSF",
    "merger": "COMP",
    "ring": "SER",
    "lens_arc": "DEV",
}

BATCH = 256
_F32 = np.float32


# ---------------------------------------------------------------- helpers
def _col(a: np.ndarray | float) -> np.ndarray:
    """Shape ``(k,)`` parameters as ``(k, 1, 1)`` to broadcast over a grid."""
    return np.asarray(a, dtype=_F32)[:, None, None]


def _unit(img: np.ndarray) -> np.ndarray:
    """Normalise each ``(..., P, P)`` image to unit sum (total flux 1)."""
    total = img.sum(axis=(-2, -1), keepdims=True, dtype=np.float64)
    return (img / np.maximum(total, 1e-30)).astype(_F32, copy=False)


def _fluxes(mag_r: np.ndarray, g_r: np.ndarray, r_z: np.ndarray) -> np.ndarray:
    """``(k, 3)`` g, r, z fluxes in nanomaggies from r magnitude and colours."""
    mags = np.stack([mag_r + g_r, mag_r, mag_r - r_z], axis=1)
    return (10.0 ** (-0.4 * (mags - ZEROPOINT))).astype(_F32)


def _moffat_gamma(fwhm_px: np.ndarray) -> np.ndarray:
    """Moffat core width ``gamma`` for a FWHM in pixels."""
    return fwhm_px / (2.0 * np.sqrt(2.0 ** (1.0 / MOFFAT_ALPHA) - 1.0))


def _allocate(n: int, rng: np.random.Generator) -> np.ndarray:
    """Kind index per source: exact fractions (largest remainder), shuffled.

    Every rare kind gets at least one source once ``n >= 100``.
    """
    frac = np.array(list(KIND_FRACTIONS.values()))
    counts = np.floor(frac * n).astype(int)
    order = np.argsort(-(frac * n - counts), kind="stable")
    counts[order[: n - counts.sum()]] += 1
    if n >= 100:
        for i, kind in enumerate(KINDS):
            if kind in RARE_KINDS and counts[i] == 0:
                counts[i] = 1
                counts[np.argmax(counts)] -= 1
    labels = np.repeat(np.arange(len(KINDS)), counts)
    return rng.permutation(labels)


def _sky_positions(
    kind_idx: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """RA, Dec in degrees: a uniform field plus Gaussian clumps."""
    n = len(kind_idx)
    ra0, dec0 = PATCH_CENTER
    half = PATCH_SIDE / 2
    cos0 = np.cos(np.radians(dec0))
    clump_dec = dec0 + rng.uniform(-0.8 * half, 0.8 * half, _N_CLUMPS)
    clump_ra = ra0 + rng.uniform(-0.8 * half, 0.8 * half, _N_CLUMPS) / cos0
    clump_sigma = rng.uniform(0.03, 0.18, _N_CLUMPS)
    weights = rng.lognormal(0.0, 0.7, _N_CLUMPS)
    weights /= weights.sum()

    p_clump = np.array([_CLUSTERED.get(k, 0.0) for k in KINDS])[kind_idx]
    in_clump = rng.random(n) < p_clump
    which = rng.choice(_N_CLUMPS, size=n, p=weights)
    dec = dec0 + rng.uniform(-half, half, n)
    ra = ra0 + rng.uniform(-half, half, n) / cos0
    off = rng.normal(size=(n, 2)) * clump_sigma[which, None]
    dec = np.where(in_clump, clump_dec[which] + off[:, 1], dec)
    ra = np.where(in_clump, clump_ra[which] + off[:, 0] / cos0, ra)
    return ra % 360.0, np.clip(dec, -90.0, 90.0)


# ------------------------------------------------------------------ canvas
class _Canvas:
    """Pre-PSF images and point sources of ``k`` cutouts of one kind.

    Coordinates are pixels of the padded ``P x P`` grid; the central source
    sits at ``(x0, y0)``, within half a pixel of the grid centre.
    """

    def __init__(self, k: int, padded: int, pix: float, rng: np.random.Generator):
        self.k, self.P, self.pix, self.rng = k, padded, pix, rng
        axis = np.arange(padded, dtype=_F32)
        self.gx = axis[None, None, :]
        self.gy = axis[None, :, None]
        centre = (padded - 1) / 2
        self.x0 = (centre + rng.uniform(-0.5, 0.5, k)).astype(_F32)
        self.y0 = (centre + rng.uniform(-0.5, 0.5, k)).astype(_F32)
        self.ext = np.zeros((k, len(BANDS), padded, padded), dtype=_F32)
        self.points: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self.total = np.zeros((k, len(BANDS)), dtype=_F32)

    def px(self, arcsec: np.ndarray | float) -> np.ndarray:
        return np.asarray(arcsec, dtype=_F32) / _F32(self.pix)

    def add(self, unit_img: np.ndarray, flux: np.ndarray, *, central=True) -> None:
        """Add ``(k, P, P)`` unit-flux images scaled by ``(k, 3)`` fluxes."""
        self.ext += unit_img[:, None] * flux[:, :, None, None]
        if central:
            self.total += flux

    def add_point(self, x, y, flux: np.ndarray, *, central=True) -> None:
        """Add a point source (rendered after convolution with the PSF)."""
        self.points.append((np.asarray(x, _F32), np.asarray(y, _F32), flux))
        if central:
            self.total += flux

    def sersic(self, r_eff_px, n, x0, y0, ellip, theta) -> np.ndarray:
        """Unit-flux :class:`Sersic2D` images, ``(k, P, P)``."""
        img = Sersic2D.evaluate(
            self.gx[0],
            self.gy[0],
            _F32(1.0),
            _col(r_eff_px),
            _col(n),
            _col(x0),
            _col(y0),
            _col(ellip),
            _col(theta),
        )
        return _unit(img)

    def disc_frame(self, x0, y0, ellip, theta) -> tuple[np.ndarray, np.ndarray]:
        """Deprojected radius (px) and azimuth of every pixel of an inclined disc."""
        dx = self.gx[0] - _col(x0)
        dy = self.gy[0] - _col(y0)
        c, s = np.cos(_col(theta)), np.sin(_col(theta))
        u = dx * c + dy * s
        v = (-dx * s + dy * c) / (1.0 - _col(ellip))
        return np.hypot(u, v), np.arctan2(v, u)


# --------------------------------------------------------------- the kinds
def _size_mag(cv: _Canvas, mag_range, size_range) -> tuple[np.ndarray, np.ndarray]:
    """Correlated r magnitude and half-light radius (arcsec): far = faint, small."""
    far = np.sqrt(cv.rng.random(cv.k))
    mag = mag_range[0] + (mag_range[1] - mag_range[0]) * far
    size = size_range[1] - (size_range[1] - size_range[0]) * far
    size = size * cv.rng.lognormal(0.0, 0.15, cv.k)
    return mag + cv.rng.normal(0, 0.2, cv.k), size


def _elliptical(cv: _Canvas, mag_range=(16.0, 20.5), red=0.0) -> np.ndarray:
    rng, k = cv.rng, cv.k
    mag, r_eff = _size_mag(cv, mag_range, (0.9, 3.8))
    n = rng.uniform(3.0, 5.5, k)
    ellip = rng.uniform(0.0, 0.45, k)
    theta = rng.uniform(0, np.pi, k)
    g_r = rng.normal(0.95 + red, 0.12, k) + 0.3 * (mag - 16.0) / 4.5
    r_z = rng.normal(0.75, 0.12, k)
    cv.add(
        cv.sersic(cv.px(r_eff), n, cv.x0, cv.y0, ellip, theta), _fluxes(mag, g_r, r_z)
    )
    return r_eff


def _disc(cv: _Canvas) -> np.ndarray:
    rng, k = cv.rng, cv.k
    mag, r_disc = _size_mag(cv, (15.8, 20.3), (1.4, 4.2))
    edge_on = rng.random(k) < 0.2
    ellip = np.where(edge_on, rng.uniform(0.72, 0.86, k), rng.uniform(0.0, 0.6, k))
    theta = rng.uniform(0, np.pi, k)
    bulge_frac = rng.uniform(0.0, 0.45, k)
    total = _fluxes(mag, rng.normal(0.55, 0.1, k), rng.normal(0.45, 0.1, k))
    bulge_flux = total * bulge_frac[:, None] * np.array([0.8, 1.0, 1.2], _F32)
    disc_flux = total * (1 - bulge_frac)[:, None]
    r_bulge = r_disc * rng.uniform(0.15, 0.3, k)
    cv.add(
        cv.sersic(
            cv.px(r_bulge), rng.uniform(2, 4, k), cv.x0, cv.y0, ellip * 0.4, theta
        ),
        bulge_flux,
    )
    disc = cv.sersic(cv.px(r_disc), np.ones(k), cv.x0, cv.y0, ellip, theta)
    armed = (~edge_on) & (rng.random(k) < 0.6)
    arm_share = np.where(armed, rng.uniform(0.5, 0.8, k), 0.0).astype(_F32)
    if armed.any():
        radius, phi = cv.disc_frame(cv.x0, cv.y0, ellip, theta)
        pitch = np.tan(np.radians(rng.uniform(12, 28, k)))
        phase = rng.uniform(0, 2 * np.pi, k)
        wind = np.log(radius + 1.0) / _col(pitch)
        pattern = ((1 + np.cos(2 * (phi - wind) + _col(phase))) / 2) ** 3
        arms = _unit(disc * pattern)
        blue = np.array([1.35, 1.0, 0.75], _F32)
        cv.add(arms, disc_flux * (arm_share[:, None] * blue))
    cv.add(disc, disc_flux * (1 - arm_share)[:, None])
    return r_disc


def _star(cv: _Canvas) -> np.ndarray:
    rng, k = cv.rng, cv.k
    mag = 15.0 + 7.0 * np.sqrt(rng.random(k))
    g_r = np.clip(rng.gamma(2.5, 0.25, k) + 0.2, 0.2, 1.6)
    r_z = np.where(g_r < 1.2, 0.1 + 0.55 * g_r, 0.76 + 1.9 * (g_r - 1.2))
    r_z = r_z + rng.normal(0, 0.05, k)
    cv.add_point(cv.x0, cv.y0, _fluxes(mag, g_r, r_z))
    return np.zeros(k)


def _red_quasar(cv: _Canvas) -> np.ndarray:
    rng, k = cv.rng, cv.k
    mag = rng.uniform(19.0, 21.5, k)
    g_r = rng.uniform(2.2, 3.2, k)
    r_z = rng.uniform(1.2, 2.2, k)
    cv.add_point(cv.x0, cv.y0, _fluxes(mag, g_r, r_z))
    return np.zeros(k)


def _gaussian_blobs(cv: _Canvas, x, y, sigma) -> np.ndarray:
    """Sum of unit :class:`Gaussian2D` blobs at ``(k, m)`` positions, unit flux."""
    img = Gaussian2D.evaluate(
        cv.gx[None],
        cv.gy[None],
        _F32(1.0),
        np.asarray(x, _F32)[:, :, None, None],
        np.asarray(y, _F32)[:, :, None, None],
        np.asarray(sigma, _F32)[:, :, None, None],
        np.asarray(sigma, _F32)[:, :, None, None],
        _F32(0.0),
    )
    return _unit(img.sum(axis=1))


def _merger(cv: _Canvas) -> np.ndarray:
    rng, k = cv.rng, cv.k
    sep = cv.px(rng.uniform(1.0, 3.0, k))
    angle = rng.uniform(0, 2 * np.pi, k)
    ratio = rng.uniform(0.3, 1.0, k)  # flux ratio secondary / primary
    x1, y1 = cv.x0 - 0.4 * sep * np.cos(angle), cv.y0 - 0.4 * sep * np.sin(angle)
    x2, y2 = cv.x0 + 0.6 * sep * np.cos(angle), cv.y0 + 0.6 * sep * np.sin(angle)
    mag = rng.uniform(16.3, 19.5, k)
    total = _fluxes(mag, rng.normal(0.7, 0.15, k), rng.normal(0.55, 0.12, k))
    r1 = cv.px(rng.uniform(0.6, 1.6, k))
    r2 = r1 * np.sqrt(ratio) * rng.uniform(0.7, 1.2, k)
    tail_share = rng.uniform(0.2, 0.4, k)[:, None]
    core = total * (1 - tail_share)
    n1, n2 = rng.uniform(1, 4, k), rng.uniform(1, 4, k)
    e1, e2 = rng.uniform(0.1, 0.5, k), rng.uniform(0.1, 0.5, k)
    cv.add(
        cv.sersic(r1, n1, x1, y1, e1, rng.uniform(0, np.pi, k)),
        core / (1 + ratio)[:, None],
    )
    cv.add(
        cv.sersic(r2, n2, x2, y2, e2, rng.uniform(0, np.pi, k)),
        core * (ratio / (1 + ratio))[:, None],
    )
    # Two curved tails leaving the pair in opposite directions (an "S"), made
    # of Gaussian blobs that widen and fade along the tail.
    n_blobs = 10
    t = np.linspace(0.35, 1.4, n_blobs, dtype=_F32)[None, :]
    reach = (r1 * rng.uniform(2.5, 4.0, k))[:, None]
    bend = (rng.choice([-1.0, 1.0], k) * rng.uniform(1.0, 2.0, k))[:, None]
    a0 = rng.uniform(0, 2 * np.pi, k)[:, None]
    xs, ys, sig, w = [], [], [], []
    for side, (cx, cy) in enumerate(((x1, y1), (x2, y2))):
        a = a0 + side * np.pi + bend * t
        xs.append(cx[:, None] + reach * t * np.cos(a))
        ys.append(cy[:, None] + reach * t * np.sin(a))
        sig.append(np.broadcast_to(cv.px(0.25) + 0.12 * reach * t, (k, n_blobs)))
        w.append(np.broadcast_to(np.exp(-t), (k, n_blobs)))
    tails = _gaussian_blobs(cv, np.hstack(xs), np.hstack(ys), np.hstack(sig))
    tail_flux = total * tail_share * np.array([1.2, 1.0, 0.8], _F32)
    cv.add(tails, tail_flux)
    return cv.rng.uniform(1.5, 3.0, k)


def _ring(cv: _Canvas) -> np.ndarray:
    rng, k = cv.rng, cv.k
    mag = rng.uniform(17.5, 20.0, k)
    total = _fluxes(mag, rng.normal(0.45, 0.1, k), rng.normal(0.35, 0.1, k))
    r_in = cv.px(rng.uniform(1.8, 3.2, k))
    width = np.maximum(cv.px(rng.uniform(0.35, 0.7, k)), 1.2)
    ellip = rng.uniform(0.0, 0.45, k)
    theta = rng.uniform(0, np.pi, k)
    radius, phi = cv.disc_frame(cv.x0, cv.y0, ellip, theta)
    ring = Ring2D.evaluate(
        radius, _F32(0.0), _F32(1.0), _F32(0.0), _F32(0.0), _col(r_in), _col(width)
    ).astype(_F32)
    knots = rng.integers(3, 8, k)
    phase = rng.uniform(0, 2 * np.pi, k)
    knotty = 0.35 + (1 + np.cos(_col(knots) * phi + _col(phase))) ** 2 / 4
    ring_share = rng.uniform(0.45, 0.7, k)[:, None]
    cv.add(_unit(ring * knotty), total * ring_share * np.array([1.3, 1.0, 0.75], _F32))
    offset = r_in * rng.uniform(0.0, 0.45, k)
    ang = rng.uniform(0, 2 * np.pi, k)
    nucleus = cv.sersic(
        cv.px(rng.uniform(0.3, 0.6, k)),
        rng.uniform(2, 4, k),
        cv.x0 + offset * np.cos(ang),
        cv.y0 + offset * np.sin(ang),
        rng.uniform(0, 0.3, k),
        rng.uniform(0, np.pi, k),
    )
    cv.add(nucleus, total * (1 - ring_share) * np.array([0.7, 1.0, 1.3], _F32))
    return (r_in + width / 2) * cv.pix


def _lens_arc(cv: _Canvas) -> np.ndarray:
    rng, k = cv.rng, cv.k
    r_eff = _elliptical(cv, mag_range=(16.8, 19.0), red=0.15)
    theta_e = cv.px(rng.uniform(1.6, 3.2, k))
    arc_dir = rng.uniform(-np.pi, np.pi, k)
    dx, dy = cv.gx[0] - _col(cv.x0), cv.gy[0] - _col(cv.y0)
    radius = np.hypot(dx, dy)
    dphi = np.angle(np.exp(1j * (np.arctan2(dy, dx) - _col(arc_dir)))).astype(_F32)
    arc = Gaussian1D.evaluate(radius, _F32(1.0), _col(theta_e), cv.px(0.18))
    arc = arc * Gaussian1D.evaluate(
        dphi, _F32(1.0), _F32(0.0), _col(np.radians(rng.uniform(20, 55, k)))
    )
    arc_flux = _fluxes(
        rng.uniform(18.8, 20.3, k), rng.uniform(0.0, 0.35, k), rng.uniform(-0.1, 0.3, k)
    )
    cv.add(_unit(arc), arc_flux)
    counter = rng.random(k) < 0.7
    if counter.any():
        r_c = theta_e * rng.uniform(0.55, 0.85, k)
        xc = (cv.x0 - r_c * np.cos(arc_dir))[:, None]
        yc = (cv.y0 - r_c * np.sin(arc_dir))[:, None]
        blob = _gaussian_blobs(cv, xc, yc, np.full((k, 1), cv.px(0.2), _F32))
        cv.add(blob, arc_flux * (0.3 * counter)[:, None])
    return r_eff


def _satellite_trail(cv: _Canvas) -> np.ndarray:
    rng, k = cv.rng, cv.k
    base = rng.integers(0, 3, k)
    r_half = np.zeros(k)
    # the underlying source is an ordinary galaxy or star
    for kind_id, render in enumerate((_elliptical, _disc, _star)):
        sub = base == kind_id
        if sub.any():
            part = _Canvas(int(sub.sum()), cv.P, cv.pix, rng)
            part.x0, part.y0 = cv.x0[sub], cv.y0[sub]
            r_half[sub] = render(part)
            cv.ext[sub] += part.ext
            cv.total[sub] += part.total
            for x, y, f in part.points:
                full = np.zeros((k, len(BANDS)), _F32)
                full[sub] = f
                xs, ys = np.zeros(k, _F32), np.zeros(k, _F32)
                xs[sub], ys[sub] = x, y
                cv.add_point(xs, ys, full, central=False)
    band = rng.integers(0, len(BANDS), k)
    angle = rng.uniform(0, np.pi, k)
    impact = rng.uniform(-0.35, 0.35, k) * cv.P
    dist = (
        (cv.gx[0] - _col(cv.x0)) * np.sin(_col(angle))
        - (cv.gy[0] - _col(cv.y0)) * np.cos(_col(angle))
        - _col(impact)
    )
    line = Gaussian1D.evaluate(dist, _F32(1.0), _F32(0.0), _F32(0.45))
    per_px = (SKY_SIGMA[band] * rng.uniform(15, 120, k)).astype(_F32)
    profile = line / _F32(np.sqrt(2 * np.pi) * 0.45)
    cv.ext[np.arange(k), band] += profile * _col(per_px)
    return r_half


_RENDER: dict[str, Callable[[_Canvas], np.ndarray]] = {
    "elliptical": _elliptical,
    "disc": _disc,
    "star": _star,
    "red_quasar": _red_quasar,
    "merger": _merger,
    "ring": _ring,
    "lens_arc": _lens_arc,
    "satellite_trail": _satellite_trail,
}


def _background(cv: _Canvas) -> None:
    """Faint field galaxies and stars scattered over every cutout."""
    rng, k, P = cv.rng, cv.k, cv.P
    for prob in (0.6, 0.35):
        sub = np.flatnonzero(rng.random(k) < prob)
        if not len(sub):
            continue
        m = len(sub)
        part = _Canvas(m, P, cv.pix, rng)
        r = rng.uniform(0.18, 0.5, m) * P
        a = rng.uniform(0, 2 * np.pi, m)
        img = part.sersic(
            cv.px(rng.uniform(0.3, 1.0, m)),
            rng.uniform(1, 2.5, m),
            part.x0 + r * np.cos(a),
            part.y0 + r * np.sin(a),
            rng.uniform(0, 0.6, m),
            rng.uniform(0, np.pi, m),
        )
        flux = _fluxes(
            rng.uniform(20.5, 23.5, m),
            rng.uniform(0.3, 1.6, m),
            rng.uniform(0.2, 1.0, m),
        )
        cv.ext[sub] += img[:, None] * flux[:, :, None, None]
    star = rng.random(k) < 0.25
    pos = rng.uniform(0, P, (2, k))
    flux = (
        _fluxes(
            rng.uniform(18.0, 23.0, k),
            rng.uniform(0.3, 1.4, k),
            rng.uniform(0.1, 0.8, k),
        )
        * star[:, None]
    )
    cv.add_point(pos[0], pos[1], flux, central=False)


# ----------------------------------------------------------------- the PSF
class _Optics:
    """Grids and PSF transforms for one cutout size (cached per size)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.pad = max(4, size // 8)
        self.P = size + 2 * self.pad
        self.pix = PIXEL_SCALE_64 * 64 / size
        levels = np.linspace(*SEEING_R, _SEEING_LEVELS)
        self.fwhm_arcsec = (levels[:, None] * SEEING_RATIO[None, :]).astype(_F32)
        self.gamma = _moffat_gamma(self.fwhm_arcsec / self.pix).astype(_F32)
        wrap = np.minimum(np.arange(self.P), self.P - np.arange(self.P)).astype(_F32)
        kernel = Moffat2D.evaluate(
            wrap[None, None, None, :],
            wrap[None, None, :, None],
            _F32(1.0),
            _F32(0.0),
            _F32(0.0),
            self.gamma[:, :, None, None],
            _F32(MOFFAT_ALPHA),
        )
        kernel /= kernel.sum(axis=(-2, -1), keepdims=True)
        self.kernel_ft = np.fft.rfft2(kernel.astype(_F32))  # (levels, bands, P, P/2+1)
        axis = np.arange(size, dtype=_F32)
        self.cx, self.cy = axis[None, None, None, :], axis[None, None, :, None]


_OPTICS: dict[int, _Optics] = {}


def _optics(size: int) -> _Optics:
    if size not in _OPTICS:
        _OPTICS[size] = _Optics(size)
    return _OPTICS[size]


def _observe(ext, points, level, optics: _Optics, rng) -> np.ndarray:
    """Convolve with the PSF, crop, add point sources, sky and source noise."""
    k = len(ext)
    ft = np.fft.rfft2(ext) * optics.kernel_ft[level]
    img = np.fft.irfft2(ft, s=ext.shape[-2:]).astype(_F32)
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
            (flux[sub][:, :, None, None] * norm[sub]).astype(_F32),
            (x[sub] - pad)[:, None, None, None],
            (y[sub] - pad)[:, None, None, None],
            gamma[sub],
            _F32(MOFFAT_ALPHA),
        )
    sky = SKY_SIGMA[None, :, None, None]
    sigma = np.sqrt(sky**2 + np.maximum(img, 0) * INV_GAIN[None, :, None, None])
    noise = rng.standard_normal(img.shape, dtype=_F32) * sigma
    offset = rng.normal(0, 0.15, (k, len(BANDS), 1, 1)).astype(_F32) * sky
    return img + noise + offset


# ------------------------------------------------------------ the survey
def _plan(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Kind index, RA and Dec of every source (cheap, O(n))."""
    rng = np.random.default_rng([seed, 0])
    kind_idx = _allocate(n, rng)
    ra, dec = _sky_positions(kind_idx, rng)
    return kind_idx, ra, dec


def _render_batch(
    kind_idx: np.ndarray, size: int, rng: np.random.Generator
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    optics = _optics(size)
    k = len(kind_idx)
    ext = np.zeros((k, len(BANDS), optics.P, optics.P), dtype=_F32)
    total = np.zeros((k, len(BANDS)), dtype=_F32)
    r_half = np.zeros(k)
    points: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    for i, kind in enumerate(KINDS):
        sub = np.flatnonzero(kind_idx == i)
        if not len(sub):
            continue
        cv = _Canvas(len(sub), optics.P, optics.pix, rng)
        r_half[sub] = _RENDER[kind](cv)
        ext[sub] = cv.ext
        total[sub] = cv.total
        for x, y, f in cv.points:
            full_x, full_y = np.zeros(k, _F32), np.zeros(k, _F32)
            full_f = np.zeros((k, len(BANDS)), _F32)
            full_x[sub], full_y[sub], full_f[sub] = x, y, f
            points.append((full_x, full_y, full_f))
    bg = _Canvas(k, optics.P, optics.pix, rng)
    _background(bg)
    ext += bg.ext
    points += bg.points
    level = rng.integers(0, _SEEING_LEVELS, k)
    cube = _observe(ext, points, level, optics, rng)
    # Catalogue photometry: true total flux plus aperture-like noise.
    err = SKY_SIGMA * np.sqrt(np.pi * (2.0 / optics.pix) ** 2)
    measured = np.maximum(total + rng.normal(size=total.shape) * err, 0.05 * err)
    mags = ZEROPOINT - 2.5 * np.log10(measured)
    columns = {
        **{f"mag_{b}": mags[:, j].astype(_F32) for j, b in enumerate(BANDS)},
        "shape_r": r_half.astype(_F32),
        "psf_fwhm_r": optics.fwhm_arcsec[level, 1],
    }
    return cube, columns


def iter_survey(
    n: int, *, size: int = 64, seed: int = 0, batch: int = BATCH
) -> Iterator[tuple[np.ndarray, pd.DataFrame]]:
    """Generate the survey in batches.

    Parameters
    ----------
    n : int
        Number of sources.
    size : int
        Cutout side ``S`` in pixels (the field is always 16 arcsec).
    seed : int
        Random seed; the same ``(n, size, seed)`` gives identical output.
    batch : int
        Sources per yielded batch (does not change the output).

    Yields
    ------
    cube : ndarray
        ``(b, 3, S, S)`` float32 cutouts in nanomaggies, bands g, r, z.
    catalog : DataFrame
        ``b`` rows: ``id``, ``ra``, ``dec`` (deg), ``mag_g``, ``mag_r``,
        ``mag_z`` (AB), ``shape_r`` (half-light radius, arcsec, 0 for point
        sources), ``psf_fwhm_r`` (arcsec), ``type`` (Tractor-like model name)
        and hidden ``_truth_label`` (kind name).
    """
    if n < 1:
        msg = f"number of sources must be >= 1, got {n}"
        raise ValueError(msg)
    if size < 16:
        msg = f"cutout size must be >= 16 px, got {size}"
        raise ValueError(msg)
    kind_idx, ra, dec = _plan(n, seed)
    render_batch = BATCH  # fixed, so that output does not depend on `batch`
    pending_cube: list[np.ndarray] = []
    pending_cat: list[pd.DataFrame] = []
    pending = 0
    for b, start in enumerate(range(0, n, render_batch)):
        stop = min(start + render_batch, n)
        rng = np.random.default_rng([seed, 1, b])
        cube, cols = _render_batch(kind_idx[start:stop], size, rng)
        labels = np.asarray(KINDS, dtype=object)[kind_idx[start:stop]]
        catalog = pd.DataFrame(
            {
                "id": np.arange(start, stop, dtype=np.int64) + 1_000_001,
                "ra": ra[start:stop],
                "dec": dec[start:stop],
                **cols,
                "type": [_TRACTOR_TYPE.get(lab, "COMP") for lab in labels],
                "_truth_label": labels.astype(str),
            }
        )
        pending_cube.append(cube)
        pending_cat.append(catalog)
        pending += len(cube)
        while pending >= batch or (stop == n and pending):
            cube_all = np.concatenate(pending_cube)
            cat_all = pd.concat(pending_cat, ignore_index=True)
            yield cube_all[:batch], cat_all.iloc[:batch].reset_index(drop=True)
            rest = len(cube_all) - batch
            pending_cube = [cube_all[batch:]] if rest > 0 else []
            pending_cat = [cat_all.iloc[batch:]] if rest > 0 else []
            pending = max(rest, 0)


def make_cutouts(
    n: int, size: int = 64, seed: int = 0
) -> tuple[np.ndarray, pd.DataFrame]:
    """The whole synthetic survey in memory (for tests and small demos).

    Parameters
    ----------
    n : int
        Number of sources.
    size : int
        Cutout side ``S`` in pixels.
    seed : int
        Random seed (deterministic output).

    Returns
    -------
    cube : ndarray
        ``(n, 3, S, S)`` float32, bands g, r, z, nanomaggies.
    catalog : DataFrame
        ``n`` rows, see :func:`iter_survey`.
    """
    parts = list(iter_survey(n, size=size, seed=seed, batch=max(n, 1)))
    cube = np.concatenate([p[0] for p in parts])
    catalog = pd.concat([p[1] for p in parts], ignore_index=True)
    return cube, catalog


def _fits_header(n: int, size: int, seed: int):
    from astropy.io import fits

    header = fits.Header()
    header["SIMPLE"] = True
    header["BITPIX"] = -32
    header["NAXIS"] = 4
    header["NAXIS1"] = size
    header["NAXIS2"] = size
    header["NAXIS3"] = len(BANDS)
    header["NAXIS4"] = n
    header["EXTEND"] = True
    header["BANDS"] = (",".join(BANDS), "band of each plane along axis 3")
    for i, band in enumerate(BANDS, start=1):
        header[f"BAND{i}"] = band
    header["BUNIT"] = ("nanomaggy", "22.5 - 2.5 log10(flux) = AB mag")
    header["PIXSCALE"] = (PIXEL_SCALE_64 * 64 / size, "arcsec per pixel")
    header["ORIGIN"] = "latentsky synthetic survey"
    header["SEED"] = seed
    return header


def write_demo_survey(
    path: str | os.PathLike[str],
    n: int,
    *,
    size: int = 64,
    seed: int = 0,
    progress: bool = False,
) -> Path:
    """Write the synthetic survey as a FITS cube plus catalogue.

    The primary HDU is an ``(N, 3, S, S)`` float32 cube (FITS axes
    ``NAXIS1 = NAXIS2 = S``, ``NAXIS3 = 3``, ``NAXIS4 = N``) with band names in
    the ``BANDS`` / ``BAND1..3`` keywords; it is streamed batch by batch, so
    memory does not grow with ``n``. HDU 1 (``CATALOG``) is a binary table
    with the columns of :func:`iter_survey`. The file is written to a
    temporary sibling and renamed into place.

    Parameters
    ----------
    path : path-like
        Output ``.fits`` file (replaced if it exists).
    n, size, seed
        See :func:`make_cutouts`.
    progress : bool
        Show a tqdm progress bar.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    from astropy.io import fits
    from astropy.table import Table
    from tqdm.auto import tqdm

    from explorer.store import atomic

    path = Path(path)
    catalogs = []
    with atomic.atomic_path(path) as tmp:
        stream = fits.StreamingHDU(tmp, _fits_header(n, size, seed))
        try:
            with tqdm(
                total=n, unit="src", desc="demo survey", disable=not progress
            ) as bar:
                for cube, catalog in iter_survey(n, size=size, seed=seed):
                    stream.write(np.ascontiguousarray(cube, dtype=">f4"))
                    catalogs.append(catalog)
                    bar.update(len(cube))
        finally:
            stream.close()
        table = Table.from_pandas(pd.concat(catalogs, ignore_index=True))
        hdu = fits.BinTableHDU(table, name="CATALOG")
        fits.append(tmp, hdu.data, hdu.header)
    log.info("wrote synthetic survey of %d sources (%d px) to %s", n, size, path)
    return path
