"""Renderers of the galaxy kinds: ``render(canvas)`` adds the central source.

Sizes shrink and colours redden towards the faint end (fainter galaxies are
further away), so that faint ellipticals reach the colours of the ``z ~ 1``
red compact galaxies, as in nature.
"""

from __future__ import annotations

import numpy as np
from astropy.modeling.functional_models import Gaussian1D, Ring2D

from explorer.ingest.synthetic.canvas import Canvas
from explorer.ingest.synthetic.photometry import F32, col, fluxes, unit

#: Intrinsic thickness (minor / major axis) of an edge-on disc.
_DISC_THICKNESS = 0.12


def _far(cv: Canvas, mag: np.ndarray, bright: float) -> np.ndarray:
    """0 (bright, near) to 1 (at the magnitude limit, far) per source."""
    span = max(cv.settings.mag_limit - bright, 1e-3)
    return np.clip((mag - bright) / span, 0.0, 1.0)


def _size(cv: Canvas, mag: np.ndarray, at_18: float, scatter: float = 0.25):
    """Half-light radius in arcsec, shrinking with magnitude, log-normal scatter."""
    r = at_18 * 10 ** (-0.12 * (mag - 18.0)) * cv.rng.lognormal(0.0, scatter, cv.k)
    return np.clip(r, 0.15, 8.0)


def elliptical_light(cv: Canvas, mag: np.ndarray, red: float = 0.0) -> np.ndarray:
    """Add de Vaucouleurs-like Sersic galaxies of r magnitude ``mag``.

    Returns the half-light radius in arcsec, ``(k,)``.
    """
    rng, k = cv.rng, cv.k
    far = _far(cv, mag, 16.0)
    r_eff = _size(cv, mag, 2.0)
    g_r = rng.normal(0.95 + red, 0.12, k) + 0.8 * far**2
    r_z = rng.normal(0.7, 0.1, k) + 0.6 * far**2
    img = cv.sersic(
        cv.px(r_eff),
        rng.uniform(3.0, 5.5, k),
        cv.x0,
        cv.y0,
        rng.uniform(0.0, 0.45, k),
        rng.uniform(0, np.pi, k),
    )
    cv.add(img, fluxes(mag, g_r, r_z))
    return r_eff


def elliptical(cv: Canvas) -> None:
    """Red smooth early-type galaxies (Sersic n = 3-5.5)."""
    elliptical_light(cv, cv.mags(16.0, 0.35))


def _inclined_ellipticity(rng: np.random.Generator, k: int) -> np.ndarray:
    """1 - b/a of thin discs seen at random inclinations (isotropic)."""
    cos_i = rng.random(k)
    q = np.sqrt(cos_i**2 * (1 - _DISC_THICKNESS**2) + _DISC_THICKNESS**2)
    return np.minimum(1.0 - q, 0.9)


def _spiral_arms(cv: Canvas, disc: np.ndarray, ellip, theta) -> np.ndarray:
    """Two logarithmic arms modulating an exponential disc image (unit flux)."""
    rng, k = cv.rng, cv.k
    radius, phi = cv.disc_frame(cv.x0, cv.y0, ellip, theta)
    pitch = np.tan(np.radians(rng.uniform(12, 28, k)))
    phase = rng.uniform(0, 2 * np.pi, k)
    wind = np.log(radius + 1.0) / col(pitch)
    pattern = ((1 + np.cos(2 * (phi - wind) + col(phase))) / 2) ** 3
    return unit(disc * pattern)


def disc_light(
    cv: Canvas, mag: np.ndarray, ellip: np.ndarray, r_disc: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Add bulge + exponential disc (+ spiral arms when not too inclined).

    Returns the disc image ``(k, P, P)`` (unit flux) and position angle.
    """
    rng, k = cv.rng, cv.k
    far = _far(cv, mag, 15.8)
    theta = rng.uniform(0, np.pi, k)
    bulge_frac = rng.uniform(0.0, 0.45, k)
    total = fluxes(
        mag,
        rng.normal(0.55, 0.12, k) + 0.4 * far**2,
        rng.normal(0.45, 0.1, k) + 0.3 * far**2,
    )
    bulge_flux = total * bulge_frac[:, None] * np.array([0.8, 1.0, 1.2], F32)
    disc_flux = total * (1 - bulge_frac)[:, None]
    r_bulge = r_disc * rng.uniform(0.15, 0.3, k)
    bulge = cv.sersic(
        cv.px(r_bulge), rng.uniform(2, 4, k), cv.x0, cv.y0, ellip * 0.4, theta
    )
    cv.add(bulge, bulge_flux)
    disc = cv.sersic(cv.px(r_disc), np.ones(k), cv.x0, cv.y0, ellip, theta)
    armed = (ellip < 0.5) & (rng.random(k) < 0.6)
    arm_share = np.where(armed, rng.uniform(0.4, 0.7, k), 0.0).astype(F32)
    if armed.any():
        arms = _spiral_arms(cv, disc, ellip, theta)
        cv.add(
            arms, disc_flux * (arm_share[:, None] * np.array([1.35, 1.0, 0.75], F32))
        )
    cv.add(disc, disc_flux * (1 - arm_share)[:, None])
    return disc, theta


def disc(cv: Canvas) -> None:
    """Blue late-type galaxies at random inclination, many with spiral arms."""
    mag = cv.mags(15.8, 0.35)
    disc_light(cv, mag, _inclined_ellipticity(cv.rng, cv.k), _size(cv, mag, 2.6))


def red_compact(cv: Canvas) -> None:
    """Barely resolved ``z ~ 1`` red galaxies with high-z-quasar-like colours."""
    rng, k = cv.rng, cv.k
    mag = cv.mags(20.0, 0.35)
    img = cv.sersic(
        cv.px(rng.lognormal(np.log(0.4), 0.25, k)),
        rng.uniform(1.0, 4.0, k),
        cv.x0,
        cv.y0,
        rng.uniform(0.0, 0.4, k),
        rng.uniform(0, np.pi, k),
    )
    cv.add(img, fluxes(mag, rng.normal(2.3, 0.35, k), rng.normal(1.9, 0.35, k)))


def ring(cv: Canvas) -> None:
    """Collisional rings: a knotty blue ring around an offset red nucleus."""
    rng, k = cv.rng, cv.k
    mag = rng.uniform(17.5, 20.5, k)
    total = fluxes(mag, rng.normal(0.45, 0.1, k), rng.normal(0.35, 0.1, k))
    r_in = cv.px(rng.uniform(1.6, 3.5, k))
    width = np.maximum(cv.px(rng.uniform(0.35, 0.7, k)), 1.2)
    ellip = rng.uniform(0.0, 0.45, k)
    theta = rng.uniform(0, np.pi, k)
    radius, phi = cv.disc_frame(cv.x0, cv.y0, ellip, theta)
    shape = Ring2D.evaluate(
        radius, F32(0.0), F32(1.0), F32(0.0), F32(0.0), col(r_in), col(width)
    ).astype(F32)
    knots = rng.integers(3, 8, k)
    knotty = (
        0.35 + (1 + np.cos(col(knots) * phi + col(rng.uniform(0, 6.3, k)))) ** 2 / 4
    )
    share = rng.uniform(0.45, 0.7, k)[:, None]
    cv.add(unit(shape * knotty), total * share * np.array([1.3, 1.0, 0.75], F32))
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
    cv.add(nucleus, total * (1 - share) * np.array([0.7, 1.0, 1.3], F32))


def lens_arc(cv: Canvas) -> None:
    """A red elliptical with a faint blue arc (and often a counter-image)."""
    rng, k = cv.rng, cv.k
    elliptical_light(cv, rng.uniform(17.0, 19.5, k), red=0.15)
    theta_e = cv.px(rng.uniform(1.2, 3.0, k))
    arc_dir = rng.uniform(-np.pi, np.pi, k)
    dx, dy = cv.gx[0] - col(cv.x0), cv.gy[0] - col(cv.y0)
    radius = np.hypot(dx, dy)
    dphi = np.angle(np.exp(1j * (np.arctan2(dy, dx) - col(arc_dir)))).astype(F32)
    arc = Gaussian1D.evaluate(radius, F32(1.0), col(theta_e), cv.px(0.18))
    arc = arc * Gaussian1D.evaluate(
        dphi, F32(1.0), F32(0.0), col(np.radians(rng.uniform(20, 55, k)))
    )
    arc_flux = fluxes(
        rng.uniform(19.3, 21.3, k), rng.uniform(0.0, 0.35, k), rng.uniform(-0.1, 0.3, k)
    )
    cv.add(unit(arc), arc_flux)
    counter = rng.random(k) < 0.7
    r_c = theta_e * rng.uniform(0.55, 0.85, k)
    xc = (cv.x0 - r_c * np.cos(arc_dir))[:, None]
    yc = (cv.y0 - r_c * np.sin(arc_dir))[:, None]
    blob = cv.blobs(xc, yc, np.full((k, 1), cv.px(0.2), F32))
    cv.add(blob, arc_flux * (0.3 * counter)[:, None])


def _tidal_tails(cv: Canvas, x1, y1, x2, y2, r1) -> np.ndarray:
    """Two curved tails leaving a pair in opposite directions (an "S"), unit flux.

    Made of Gaussian blobs that widen along the tail.
    """
    rng, k = cv.rng, cv.k
    t = np.linspace(0.35, 1.4, 10, dtype=F32)[None, :]
    reach = (r1 * rng.uniform(2.5, 4.0, k))[:, None]
    bend = (rng.choice([-1.0, 1.0], k) * rng.uniform(1.0, 2.0, k))[:, None]
    a0 = rng.uniform(0, 2 * np.pi, k)[:, None]
    xs, ys, sig = [], [], []
    for side, (cx, cy) in enumerate(((x1, y1), (x2, y2))):
        a = a0 + side * np.pi + bend * t
        xs.append(cx[:, None] + reach * t * np.cos(a))
        ys.append(cy[:, None] + reach * t * np.sin(a))
        sig.append(np.broadcast_to(cv.px(0.25) + 0.12 * reach * t, (k, 10)))
    return cv.blobs(np.hstack(xs), np.hstack(ys), np.hstack(sig))


def _shells(cv: Canvas, r_eff_px: np.ndarray) -> np.ndarray:
    """Interleaved concentric shell arcs on alternate sides, unit flux."""
    rng, k = cv.rng, cv.k
    dx, dy = cv.gx[0] - col(cv.x0), cv.gy[0] - col(cv.y0)
    radius, phi = np.hypot(dx, dy), np.arctan2(dy, dx)
    axis = col(rng.uniform(0, np.pi, k))
    img = np.zeros((k, cv.P, cv.P), F32)
    for i in range(4):
        r_i = col(r_eff_px * 1.6 * 1.45**i)
        side = np.cos(phi - axis - i * np.pi)  # > 0 on this shell's side
        edge = np.exp(-0.5 * ((radius - r_i) / (0.08 * r_i + 0.6)) ** 2)
        img += (edge * np.clip(side, 0, None) ** 2 * (radius < r_i + 1)) * 0.8**i
    return unit(img)


def merger(cv: Canvas) -> None:
    """Interacting galaxies: a close pair with tidal tails, or a shell galaxy."""
    rng, k = cv.rng, cv.k
    sep = cv.px(rng.uniform(1.0, 3.0, k))
    angle = rng.uniform(0, 2 * np.pi, k)
    shells = rng.random(k) < 0.4
    ratio = np.where(shells, 0.0, rng.uniform(0.3, 1.0, k))  # flux secondary/primary
    x1, y1 = cv.x0 - 0.4 * sep * np.cos(angle), cv.y0 - 0.4 * sep * np.sin(angle)
    x1, y1 = np.where(shells, cv.x0, x1), np.where(shells, cv.y0, y1)
    x2, y2 = cv.x0 + 0.6 * sep * np.cos(angle), cv.y0 + 0.6 * sep * np.sin(angle)
    mag = rng.uniform(16.3, 19.8, k)
    total = fluxes(mag, rng.normal(0.75, 0.15, k), rng.normal(0.55, 0.12, k))
    r1 = cv.px(rng.uniform(0.6, 1.6, k))
    r2 = r1 * np.sqrt(np.maximum(ratio, 0.1)) * rng.uniform(0.7, 1.2, k)
    feature = rng.uniform(0.12, 0.35, k)[:, None]
    core = total * (1 - feature)
    for r, x, y, share in (
        (r1, x1, y1, 1 / (1 + ratio)),
        (r2, x2, y2, ratio / (1 + ratio)),
    ):
        img = cv.sersic(
            r,
            rng.uniform(1, 4, k),
            x,
            y,
            rng.uniform(0.1, 0.5, k),
            rng.uniform(0, np.pi, k),
        )
        cv.add(img, core * share[:, None])
    tails = _tidal_tails(cv, x1, y1, x2, y2, r1)
    shell_img = _shells(cv, r1)
    feature_img = np.where(shells[:, None, None], shell_img, tails)
    cv.add(feature_img, total * feature * np.array([1.2, 1.0, 0.85], F32))


def dust_lane(cv: Canvas) -> None:
    """Bright edge-on discs split by a reddening dust lane along the major axis."""
    rng, k = cv.rng, cv.k
    mag = rng.uniform(15.5, 18.5, k)
    ellip = rng.uniform(0.7, 0.82, k)
    r_disc = rng.uniform(2.8, 5.0, k)
    before = cv.ext.copy()
    disc_img, theta = disc_light(cv, mag, ellip, r_disc)
    dx, dy = cv.gx[0] - col(cv.x0), cv.gy[0] - col(cv.y0)
    minor = -dx * np.sin(col(theta)) + dy * np.cos(col(theta))
    # a lane narrower than the seeing would vanish: at least 0.3 arcsec wide
    height = np.maximum(r_disc * (1 - ellip) * rng.uniform(0.3, 0.5, k), 0.3)
    offset = height * rng.uniform(-0.4, 0.4, k)  # slightly inclined: off-centre
    lane = np.exp(-0.5 * ((minor - col(cv.px(offset))) / col(cv.px(height))) ** 2)
    depth = rng.uniform(0.85, 0.98, k)[:, None] * np.array([1.0, 0.85, 0.6], F32)
    transmit = 1.0 - depth[:, :, None, None] * lane[:, None]
    cv.ext = before + (cv.ext - before) * transmit.astype(F32)
