"""Survey assembly: sky positions, batches of rendered kinds, the catalogue.

Sky positions fall in a 4 x 4 deg patch: galaxies partly in Gaussian clumps
(ellipticals and lenses most strongly clustered, like galaxy clusters), stars
and artefacts uniformly.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd

from explorer.ingest.synthetic import measure
from explorer.ingest.synthetic.artefacts import saturate
from explorer.ingest.synthetic.canvas import Canvas
from explorer.ingest.synthetic.kinds import KINDS, allocate
from explorer.ingest.synthetic.neighbours import companions, faint_field
from explorer.ingest.synthetic.optics import add_noise, convolve, optics_for
from explorer.ingest.synthetic.photometry import BANDS
from explorer.ingest.synthetic.renderers import AFTER_NOISE, BEFORE_NOISE, RENDERERS
from explorer.ingest.synthetic.settings import DEMO, SurveySettings

#: Centre (RA, Dec) and side of the survey patch in degrees.
PATCH_CENTER = (150.1, 2.2)
PATCH_SIDE = 4.0
#: Sources closer than this to the patch border (deg) get the EDGE flag.
EDGE_MARGIN = 0.03
_N_CLUMPS = 14
#: Probability that a source of each kind sits in a clump.
_CLUSTERED = {
    "elliptical": 0.65,
    "disc": 0.3,
    "red_compact": 0.5,
    "merger": 0.5,
    "ring": 0.3,
    "lens_arc": 0.7,
    "dust_lane": 0.3,
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
def _plan(
    n: int, seed: int, settings: SurveySettings
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Kind index, RA and Dec of every source (cheap, O(n))."""
    rng = np.random.default_rng([seed, 0])
    kind_idx = allocate(n, rng, settings.fractions)
    ra, dec = _sky_positions(kind_idx, rng)
    return kind_idx, ra, dec


def _edge(ra: np.ndarray, dec: np.ndarray) -> np.ndarray:
    """True for sources within :data:`EDGE_MARGIN` of the patch border."""
    ra0, dec0 = PATCH_CENTER
    half = PATCH_SIDE / 2 - EDGE_MARGIN
    dra = ((ra - ra0 + 180.0) % 360.0 - 180.0) * np.cos(np.radians(dec0))
    return (np.abs(dra) > half) | (np.abs(dec - dec0) > half)


def _apply(steps, kind_idx, img, optics, rng) -> None:
    """Run each kind's detector step on its cutouts of ``img``, in place."""
    for kind, step in steps.items():
        rows = np.flatnonzero(kind_idx == KINDS.index(kind))
        if len(rows):
            part = img[rows]
            step(part, optics, rng)
            img[rows] = part


def _render_batch(
    kind_idx: np.ndarray, size: int, settings: SurveySettings, rng: np.random.Generator
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Observed cutouts and measured catalogue columns of one batch of sources.

    Parameters
    ----------
    kind_idx : ndarray
        ``(k,)`` index into :data:`KINDS` of each source.
    size : int
        Cutout side ``S`` in pixels.
    settings : SurveySettings
        Observing settings.
    rng : numpy.random.Generator
        The batch's random stream.

    Returns
    -------
    cube : ndarray
        ``(k, 3, S, S)`` float32 cutouts (nanomaggies).
    columns : dict of str to ndarray
        ``flux_*``, ``mag_*``, ``size_r``, ``psf_fwhm_r`` and ``flags``
        (without ``EDGE``), ``(k,)`` each.
    """
    optics = optics_for(size, settings)
    k = len(kind_idx)
    level = optics.draw_seeing(rng, k)
    bands = np.arange(len(BANDS))[None, :]
    canvas = Canvas(k, optics, rng, optics.gamma[bands, level])
    for i, kind in enumerate(KINDS):
        rows = np.flatnonzero(kind_idx == i)
        if len(rows):
            part = canvas.sub(rows)
            RENDERERS[kind](part)
            canvas.merge(part, rows)
    nearest = companions(canvas)
    faint_field(canvas)
    img = convolve(canvas.ext, canvas.points, level, optics)
    _apply(BEFORE_NOISE, kind_idx, img, optics, rng)
    add_noise(img, optics, rng)
    _apply(AFTER_NOISE, kind_idx, img, optics, rng)
    saturated = saturate(img, optics, rng)
    flux, error = measure.photometry(img, level, optics)
    mags = measure.magnitudes(flux, error)
    columns = {
        **{f"flux_{b}": flux[:, j] for j, b in enumerate(BANDS)},
        **{f"mag_{b}": mags[:, j] for j, b in enumerate(BANDS)},
        "size_r": measure.size(img[:, 1], optics),
        "psf_fwhm_r": optics.fwhm_arcsec[1, level[:, 1]],
        "flags": measure.flags(saturated, nearest, optics),
    }
    return img, columns


def iter_survey(
    n: int,
    *,
    size: int = 64,
    seed: int = 0,
    batch: int = BATCH,
    settings: SurveySettings = DEMO,
) -> Iterator[tuple[np.ndarray, pd.DataFrame]]:
    """Generate the survey in batches.

    Parameters
    ----------
    n : int
        Number of sources.
    size : int
        Cutout side ``S`` in pixels (the field is ``settings.field_arcsec``).
    seed : int
        Random seed; the same ``(n, size, seed, settings)`` gives identical
        output.
    batch : int
        Sources per yielded batch (does not change the output).
    settings : SurveySettings
        Observing settings (default the ``demo`` preset).

    Yields
    ------
    cube : ndarray
        ``(b, 3, S, S)`` float32 cutouts in nanomaggies, bands g, r, z.
    catalog : DataFrame
        ``b`` rows: ``id``, ``ra``, ``dec`` (deg), ``flux_g``, ``flux_r``,
        ``flux_z`` (nanomaggies), ``mag_g``, ``mag_r``, ``mag_z`` (AB),
        ``size_r`` (arcsec), ``psf_fwhm_r`` (arcsec), ``flags`` (int bits) and
        the hidden ``_truth_label`` (kind name); see
        :mod:`explorer.ingest.synthetic`.

    Raises
    ------
    ValueError
        If ``n < 1`` or ``size < 16``.
    """
    if n < 1:
        msg = f"number of sources must be >= 1, got {n}"
        raise ValueError(msg)
    if size < 16:
        msg = f"cutout size must be >= 16 px, got {size}"
        raise ValueError(msg)
    yield from _rebatch(_rendered(n, size, seed, settings), batch)


def _rendered(
    n: int, size: int, seed: int, settings: SurveySettings
) -> Iterator[tuple[np.ndarray, pd.DataFrame]]:
    """Cutouts and catalogue rows in render batches of :data:`BATCH` sources.

    The render batch is fixed, and each has its own random stream, so that the
    output depends on ``(n, size, seed, settings)`` only, not on the batch a
    caller asks for.
    """
    kind_idx, ra, dec = _plan(n, seed, settings)
    edge = _edge(ra, dec)
    for b, start in enumerate(range(0, n, BATCH)):
        stop = min(start + BATCH, n)
        rng = np.random.default_rng([seed, 1, b])
        cube, cols = _render_batch(kind_idx[start:stop], size, settings, rng)
        cols["flags"] = cols["flags"] | (edge[start:stop] * measure.FLAG_EDGE).astype(
            np.int32
        )
        labels = np.asarray(KINDS, dtype=object)[kind_idx[start:stop]]
        catalog = pd.DataFrame(
            {
                "id": np.arange(start, stop, dtype=np.int64) + 1_000_001,
                "ra": ra[start:stop],
                "dec": dec[start:stop],
                **cols,
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
    n: int, size: int = 64, seed: int = 0, *, settings: SurveySettings = DEMO
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
    settings : SurveySettings
        Observing settings (default the ``demo`` preset).

    Returns
    -------
    cube : ndarray
        ``(n, 3, S, S)`` float32, bands g, r, z, nanomaggies.
    catalog : DataFrame
        ``n`` rows, see :func:`iter_survey`.
    """
    parts = list(
        iter_survey(n, size=size, seed=seed, batch=max(n, 1), settings=settings)
    )
    cube = np.concatenate([p[0] for p in parts])
    catalog = pd.concat([p[1] for p in parts], ignore_index=True)
    return cube, catalog
