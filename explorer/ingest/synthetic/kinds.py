"""Source kinds of the synthetic survey: how many of each, and how each is drawn.

Every kind is a renderer ``(canvas) -> half-light radius (arcsec, (k,))`` that
adds unit-flux :mod:`astropy.modeling` profiles to a :class:`Canvas`; see
:mod:`explorer.ingest.synthetic` for what each kind looks like.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from astropy.modeling.functional_models import Gaussian1D, Gaussian2D, Ring2D

from explorer.ingest.synthetic.canvas import Canvas
from explorer.ingest.synthetic.optics import SKY_SIGMA
from explorer.ingest.synthetic.photometry import BANDS, F32, col, fluxes, unit

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


def allocate(n: int, rng: np.random.Generator) -> np.ndarray:
    """Kind index per source: exact fractions (largest remainder), shuffled.

    Every rare kind gets at least one source once ``n >= 100``.

    Parameters
    ----------
    n : int
        Number of sources.
    rng : numpy.random.Generator
        Random stream (only the shuffle uses it).

    Returns
    -------
    ndarray
        ``(n,)`` int index into :data:`KINDS`.
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


# --------------------------------------------------------------- the kinds
def _size_mag(
    cv: Canvas, mag_range: tuple[float, float], size_range: tuple[float, float]
) -> tuple[np.ndarray, np.ndarray]:
    """Correlated r magnitude and half-light radius (arcsec): far = faint, small."""
    far = np.sqrt(cv.rng.random(cv.k))
    mag = mag_range[0] + (mag_range[1] - mag_range[0]) * far
    size = size_range[1] - (size_range[1] - size_range[0]) * far
    size = size * cv.rng.lognormal(0.0, 0.15, cv.k)
    return mag + cv.rng.normal(0, 0.2, cv.k), size


def _elliptical(
    cv: Canvas, mag_range: tuple[float, float] = (16.0, 20.5), red: float = 0.0
) -> np.ndarray:
    """Red de Vaucouleurs-like Sersic galaxies (``red`` adds to g - r)."""
    rng, k = cv.rng, cv.k
    mag, r_eff = _size_mag(cv, mag_range, (0.9, 3.8))
    n = rng.uniform(3.0, 5.5, k)
    ellip = rng.uniform(0.0, 0.45, k)
    theta = rng.uniform(0, np.pi, k)
    g_r = rng.normal(0.95 + red, 0.12, k) + 0.3 * (mag - 16.0) / 4.5
    r_z = rng.normal(0.75, 0.12, k)
    cv.add(
        cv.sersic(cv.px(r_eff), n, cv.x0, cv.y0, ellip, theta), fluxes(mag, g_r, r_z)
    )
    return r_eff


def _disc(cv: Canvas) -> np.ndarray:
    """Red bulge + blue exponential disc, some with two spiral arms, some edge-on."""
    rng, k = cv.rng, cv.k
    mag, r_disc = _size_mag(cv, (15.8, 20.3), (1.4, 4.2))
    edge_on = rng.random(k) < 0.2
    ellip = np.where(edge_on, rng.uniform(0.72, 0.86, k), rng.uniform(0.0, 0.6, k))
    theta = rng.uniform(0, np.pi, k)
    bulge_frac = rng.uniform(0.0, 0.45, k)
    total = fluxes(mag, rng.normal(0.55, 0.1, k), rng.normal(0.45, 0.1, k))
    bulge_flux = total * bulge_frac[:, None] * np.array([0.8, 1.0, 1.2], F32)
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
    arm_share = np.where(armed, rng.uniform(0.5, 0.8, k), 0.0).astype(F32)
    if armed.any():
        radius, phi = cv.disc_frame(cv.x0, cv.y0, ellip, theta)
        pitch = np.tan(np.radians(rng.uniform(12, 28, k)))
        phase = rng.uniform(0, 2 * np.pi, k)
        wind = np.log(radius + 1.0) / col(pitch)
        pattern = ((1 + np.cos(2 * (phi - wind) + col(phase))) / 2) ** 3
        arms = unit(disc * pattern)
        blue = np.array([1.35, 1.0, 0.75], F32)
        cv.add(arms, disc_flux * (arm_share[:, None] * blue))
    cv.add(disc, disc_flux * (1 - arm_share)[:, None])
    return r_disc


def _star(cv: Canvas) -> np.ndarray:
    """Point sources on the stellar colour locus."""
    rng, k = cv.rng, cv.k
    mag = 15.0 + 7.0 * np.sqrt(rng.random(k))
    g_r = np.clip(rng.gamma(2.5, 0.25, k) + 0.2, 0.2, 1.6)
    r_z = np.where(g_r < 1.2, 0.1 + 0.55 * g_r, 0.76 + 1.9 * (g_r - 1.2))
    r_z = r_z + rng.normal(0, 0.05, k)
    cv.add_point(cv.x0, cv.y0, fluxes(mag, g_r, r_z))
    return np.zeros(k)


def _red_quasar(cv: Canvas) -> np.ndarray:
    """Point sources much redder in g - r than any star (g dropouts)."""
    rng, k = cv.rng, cv.k
    mag = rng.uniform(19.0, 21.5, k)
    g_r = rng.uniform(2.2, 3.2, k)
    r_z = rng.uniform(1.2, 2.2, k)
    cv.add_point(cv.x0, cv.y0, fluxes(mag, g_r, r_z))
    return np.zeros(k)


def _gaussian_blobs(
    cv: Canvas, x: np.ndarray, y: np.ndarray, sigma: np.ndarray
) -> np.ndarray:
    """Sum of unit :class:`Gaussian2D` blobs at ``(k, m)`` positions, unit flux."""
    img = Gaussian2D.evaluate(
        cv.gx[None],
        cv.gy[None],
        F32(1.0),
        np.asarray(x, F32)[:, :, None, None],
        np.asarray(y, F32)[:, :, None, None],
        np.asarray(sigma, F32)[:, :, None, None],
        np.asarray(sigma, F32)[:, :, None, None],
        F32(0.0),
    )
    return unit(img.sum(axis=1))


def _merger(cv: Canvas) -> np.ndarray:
    """Two overlapping galaxies with curved blue tidal tails."""
    rng, k = cv.rng, cv.k
    sep = cv.px(rng.uniform(1.0, 3.0, k))
    angle = rng.uniform(0, 2 * np.pi, k)
    ratio = rng.uniform(0.3, 1.0, k)  # flux ratio secondary / primary
    x1, y1 = cv.x0 - 0.4 * sep * np.cos(angle), cv.y0 - 0.4 * sep * np.sin(angle)
    x2, y2 = cv.x0 + 0.6 * sep * np.cos(angle), cv.y0 + 0.6 * sep * np.sin(angle)
    mag = rng.uniform(16.3, 19.5, k)
    total = fluxes(mag, rng.normal(0.7, 0.15, k), rng.normal(0.55, 0.12, k))
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
    t = np.linspace(0.35, 1.4, n_blobs, dtype=F32)[None, :]
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
    tail_flux = total * tail_share * np.array([1.2, 1.0, 0.8], F32)
    cv.add(tails, tail_flux)
    return cv.rng.uniform(1.5, 3.0, k)


def _ring(cv: Canvas) -> np.ndarray:
    """Collisional rings: a knotty blue ring around an offset red nucleus."""
    rng, k = cv.rng, cv.k
    mag = rng.uniform(17.5, 20.0, k)
    total = fluxes(mag, rng.normal(0.45, 0.1, k), rng.normal(0.35, 0.1, k))
    r_in = cv.px(rng.uniform(1.8, 3.2, k))
    width = np.maximum(cv.px(rng.uniform(0.35, 0.7, k)), 1.2)
    ellip = rng.uniform(0.0, 0.45, k)
    theta = rng.uniform(0, np.pi, k)
    radius, phi = cv.disc_frame(cv.x0, cv.y0, ellip, theta)
    ring = Ring2D.evaluate(
        radius, F32(0.0), F32(1.0), F32(0.0), F32(0.0), col(r_in), col(width)
    ).astype(F32)
    knots = rng.integers(3, 8, k)
    phase = rng.uniform(0, 2 * np.pi, k)
    knotty = 0.35 + (1 + np.cos(col(knots) * phi + col(phase))) ** 2 / 4
    ring_share = rng.uniform(0.45, 0.7, k)[:, None]
    cv.add(unit(ring * knotty), total * ring_share * np.array([1.3, 1.0, 0.75], F32))
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
    cv.add(nucleus, total * (1 - ring_share) * np.array([0.7, 1.0, 1.3], F32))
    return (r_in + width / 2) * cv.pix


def _lens_arc(cv: Canvas) -> np.ndarray:
    """A bright red elliptical with a blue arc (and often a counter-image)."""
    rng, k = cv.rng, cv.k
    r_eff = _elliptical(cv, mag_range=(16.8, 19.0), red=0.15)
    theta_e = cv.px(rng.uniform(1.6, 3.2, k))
    arc_dir = rng.uniform(-np.pi, np.pi, k)
    dx, dy = cv.gx[0] - col(cv.x0), cv.gy[0] - col(cv.y0)
    radius = np.hypot(dx, dy)
    dphi = np.angle(np.exp(1j * (np.arctan2(dy, dx) - col(arc_dir)))).astype(F32)
    arc = Gaussian1D.evaluate(radius, F32(1.0), col(theta_e), cv.px(0.18))
    arc = arc * Gaussian1D.evaluate(
        dphi, F32(1.0), F32(0.0), col(np.radians(rng.uniform(20, 55, k)))
    )
    arc_flux = fluxes(
        rng.uniform(18.8, 20.3, k), rng.uniform(0.0, 0.35, k), rng.uniform(-0.1, 0.3, k)
    )
    cv.add(unit(arc), arc_flux)
    counter = rng.random(k) < 0.7
    if counter.any():
        r_c = theta_e * rng.uniform(0.55, 0.85, k)
        xc = (cv.x0 - r_c * np.cos(arc_dir))[:, None]
        yc = (cv.y0 - r_c * np.sin(arc_dir))[:, None]
        blob = _gaussian_blobs(cv, xc, yc, np.full((k, 1), cv.px(0.2), F32))
        cv.add(blob, arc_flux * (0.3 * counter)[:, None])
    return r_eff


def _satellite_trail(cv: Canvas) -> np.ndarray:
    """An ordinary source crossed by a straight trail in one band only."""
    rng, k = cv.rng, cv.k
    base = rng.integers(0, 3, k)
    r_half = np.zeros(k)
    # the underlying source is an ordinary galaxy or star
    for kind_id, render in enumerate((_elliptical, _disc, _star)):
        sub = base == kind_id
        if sub.any():
            part = Canvas(int(sub.sum()), cv.P, cv.pix, rng)
            part.x0, part.y0 = cv.x0[sub], cv.y0[sub]
            r_half[sub] = render(part)
            cv.ext[sub] += part.ext
            cv.total[sub] += part.total
            for x, y, f in part.points:
                full = np.zeros((k, len(BANDS)), F32)
                full[sub] = f
                xs, ys = np.zeros(k, F32), np.zeros(k, F32)
                xs[sub], ys[sub] = x, y
                cv.add_point(xs, ys, full, central=False)
    band = rng.integers(0, len(BANDS), k)
    angle = rng.uniform(0, np.pi, k)
    impact = rng.uniform(-0.35, 0.35, k) * cv.P
    dist = (
        (cv.gx[0] - col(cv.x0)) * np.sin(col(angle))
        - (cv.gy[0] - col(cv.y0)) * np.cos(col(angle))
        - col(impact)
    )
    line = Gaussian1D.evaluate(dist, F32(1.0), F32(0.0), F32(0.45))
    per_px = (SKY_SIGMA[band] * rng.uniform(15, 120, k)).astype(F32)
    profile = line / F32(np.sqrt(2 * np.pi) * 0.45)
    cv.ext[np.arange(k), band] += profile * col(per_px)
    return r_half


#: Kind -> renderer ``(canvas) -> (k,) half-light radius in arcsec``.
RENDERERS: dict[str, Callable[[Canvas], np.ndarray]] = {
    "elliptical": _elliptical,
    "disc": _disc,
    "star": _star,
    "red_quasar": _red_quasar,
    "merger": _merger,
    "ring": _ring,
    "lens_arc": _lens_arc,
    "satellite_trail": _satellite_trail,
}


def render_background(cv: Canvas) -> None:
    """Add faint field galaxies and stars scattered over every cutout of ``cv``.

    Parameters
    ----------
    cv : Canvas
        A canvas of all ``k`` cutouts of a batch; its ``total`` is not changed
        (background sources are not part of the catalogue photometry).
    """
    rng, k, P = cv.rng, cv.k, cv.P
    for prob in (0.6, 0.35):
        sub = np.flatnonzero(rng.random(k) < prob)
        if not len(sub):
            continue
        m = len(sub)
        part = Canvas(m, P, cv.pix, rng)
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
        flux = fluxes(
            rng.uniform(20.5, 23.5, m),
            rng.uniform(0.3, 1.6, m),
            rng.uniform(0.2, 1.0, m),
        )
        cv.ext[sub] += img[:, None] * flux[:, :, None, None]
    star = rng.random(k) < 0.25
    pos = rng.uniform(0, P, (2, k))
    flux = (
        fluxes(
            rng.uniform(18.0, 23.0, k),
            rng.uniform(0.3, 1.4, k),
            rng.uniform(0.1, 0.8, k),
        )
        * star[:, None]
    )
    cv.add_point(pos[0], pos[1], flux, central=False)
