"""A shared synthetic survey and an aperture photometer for its tests."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from explorer.ingest.synthetic import make_cutouts


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
