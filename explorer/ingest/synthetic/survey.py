"""Survey assembly: sky positions, batches of rendered kinds, the catalogue.

Sky positions fall in a 4 x 4 deg patch: galaxies partly in Gaussian clumps
(ellipticals and lenses most strongly clustered, like galaxy clusters), stars
and artefacts uniformly.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd

from explorer.ingest.synthetic.canvas import Canvas
from explorer.ingest.synthetic.kinds import (
    KINDS,
    RENDERERS,
    allocate,
    render_background,
)
from explorer.ingest.synthetic.optics import (
    SEEING_LEVELS,
    SKY_SIGMA,
    observe,
    optics_for,
)
from explorer.ingest.synthetic.photometry import BANDS, F32, ZEROPOINT

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


# ------------------------------------------------------------ the survey
def _plan(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Kind index, RA and Dec of every source (cheap, O(n))."""
    rng = np.random.default_rng([seed, 0])
    kind_idx = allocate(n, rng)
    ra, dec = _sky_positions(kind_idx, rng)
    return kind_idx, ra, dec


def _render_batch(
    kind_idx: np.ndarray, size: int, rng: np.random.Generator
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Observed cutouts and catalogue columns of one batch of sources.

    Parameters
    ----------
    kind_idx : ndarray
        ``(k,)`` index into :data:`KINDS` of each source.
    size : int
        Cutout side ``S`` in pixels.
    rng : numpy.random.Generator
        The batch's random stream.

    Returns
    -------
    cube : ndarray
        ``(k, 3, S, S)`` float32 cutouts (nanomaggies).
    columns : dict of str to ndarray
        ``mag_g``, ``mag_r``, ``mag_z`` (AB), ``shape_r`` and ``psf_fwhm_r``
        (arcsec), ``(k,)`` each.
    """
    optics = optics_for(size)
    k = len(kind_idx)
    ext = np.zeros((k, len(BANDS), optics.P, optics.P), dtype=F32)
    total = np.zeros((k, len(BANDS)), dtype=F32)
    r_half = np.zeros(k)
    points: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    for i, kind in enumerate(KINDS):
        sub = np.flatnonzero(kind_idx == i)
        if not len(sub):
            continue
        cv = Canvas(len(sub), optics.P, optics.pix, rng)
        r_half[sub] = RENDERERS[kind](cv)
        ext[sub] = cv.ext
        total[sub] = cv.total
        for x, y, f in cv.points:
            full_x, full_y = np.zeros(k, F32), np.zeros(k, F32)
            full_f = np.zeros((k, len(BANDS)), F32)
            full_x[sub], full_y[sub], full_f[sub] = x, y, f
            points.append((full_x, full_y, full_f))
    bg = Canvas(k, optics.P, optics.pix, rng)
    render_background(bg)
    ext += bg.ext
    points += bg.points
    level = rng.integers(0, SEEING_LEVELS, k)
    cube = observe(ext, points, level, optics, rng)
    # Catalogue photometry: true total flux plus aperture-like noise.
    err = SKY_SIGMA * np.sqrt(np.pi * (2.0 / optics.pix) ** 2)
    measured = np.maximum(total + rng.normal(size=total.shape) * err, 0.05 * err)
    mags = ZEROPOINT - 2.5 * np.log10(measured)
    columns = {
        **{f"mag_{b}": mags[:, j].astype(F32) for j, b in enumerate(BANDS)},
        "shape_r": r_half.astype(F32),
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
    yield from _rebatch(_rendered(n, size, seed), batch)


def _rendered(
    n: int, size: int, seed: int
) -> Iterator[tuple[np.ndarray, pd.DataFrame]]:
    """Cutouts and catalogue rows in render batches of :data:`BATCH` sources.

    The render batch is fixed, and each has its own random stream, so that the
    output depends on ``(n, size, seed)`` only, not on the batch a caller asks
    for.
    """
    kind_idx, ra, dec = _plan(n, seed)
    for b, start in enumerate(range(0, n, BATCH)):
        stop = min(start + BATCH, n)
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
        yield cube, catalog


def _rebatch(
    parts: Iterator[tuple[np.ndarray, pd.DataFrame]], batch: int
) -> Iterator[tuple[np.ndarray, pd.DataFrame]]:
    """The same rows regrouped in batches of ``batch`` (the last may be smaller)."""
    pending_cube: list[np.ndarray] = []
    pending_cat: list[pd.DataFrame] = []
    pending = 0
    for cube, catalog in parts:
        pending_cube.append(cube)
        pending_cat.append(catalog)
        pending += len(cube)
        while pending >= batch:
            cube_all = np.concatenate(pending_cube)
            cat_all = pd.concat(pending_cat, ignore_index=True)
            yield cube_all[:batch], cat_all.iloc[:batch].reset_index(drop=True)
            rest = len(cube_all) - batch
            pending_cube = [cube_all[batch:]] if rest > 0 else []
            pending_cat = [cat_all.iloc[batch:]] if rest > 0 else []
            pending = rest
    if pending:
        cube_all = np.concatenate(pending_cube)
        cat_all = pd.concat(pending_cat, ignore_index=True)
        yield cube_all, cat_all.reset_index(drop=True)


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
