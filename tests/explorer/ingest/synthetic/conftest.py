"""A shared synthetic survey, noiseless renders and an aperture photometer."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from explorer.ingest.synthetic import BANDS, DEMO, make_cutouts, optics_for
from explorer.ingest.synthetic.canvas import Canvas
from explorer.ingest.synthetic.optics import Optics, convolve


@pytest.fixture(scope="session")
def survey() -> tuple[np.ndarray, pd.DataFrame]:
    """1200 cutouts of 32 px, seed 7 (read-only, shared)."""
    return make_cutouts(1200, size=32, seed=7)


def _aperture_flux(cube: np.ndarray, radius: float) -> np.ndarray:
    size = cube.shape[-1]
    yy, xx = np.mgrid[:size, :size]
    centre = (size - 1) / 2
    inside = (xx - centre) ** 2 + (yy - centre) ** 2 <= radius**2
    return cube[:, :, inside].sum(axis=-1)


@pytest.fixture
def aperture_flux() -> Callable[[np.ndarray, float], np.ndarray]:
    """``aperture_flux(cube, radius_px)``: ``(n, bands)`` flux in a central circle."""
    return _aperture_flux


def _noiseless(
    render: Callable[[Canvas], None], k: int, size: int = 64, seed: int = 0
) -> tuple[Canvas, np.ndarray, np.ndarray, Optics]:
    """``(canvas, image, level, optics)`` of ``k`` noiseless renders."""
    optics = optics_for(size, DEMO)
    rng = np.random.default_rng(seed)
    level = optics.draw_seeing(rng, k)
    gamma = optics.gamma[np.arange(len(BANDS))[None, :], level]
    cv = Canvas(k, optics, rng, gamma)
    render(cv)
    return cv, convolve(cv.ext, cv.points, level, optics), level, optics


@pytest.fixture
def noiseless() -> Callable[..., tuple[Canvas, np.ndarray, np.ndarray, Optics]]:
    """``noiseless(render, k, size=64, seed=0)``: canvas, image, PSF level, optics."""
    return _noiseless
