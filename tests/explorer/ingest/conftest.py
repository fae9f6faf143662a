"""Small synthetic survey files for the reader tests (helpers as fixtures)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table


def _cube(n: int, bands: int = 2, size: int = 8, seed: int = 0) -> np.ndarray:
    return (
        np.random.default_rng(seed)
        .normal(size=(n, bands, size, size))
        .astype(np.float32)
    )


def _table(n: int, **extra) -> Table:
    rng = np.random.default_rng(n)
    cols = {
        "id": np.arange(n) + 10,
        "ra": rng.uniform(10, 20, n),
        "dec": rng.uniform(-5, 5, n),
    }
    cols.update(extra)
    return Table(cols)


def _write_cube(path: Path, cube: np.ndarray, table: Table | None, **header) -> Path:
    primary = fits.PrimaryHDU(cube)
    for key, value in header.items():
        primary.header[key] = value
    hdus = [primary]
    if table is not None:
        hdus.append(fits.BinTableHDU(table, name="CATALOG"))
    fits.HDUList(hdus).writeto(path)
    return path


@pytest.fixture
def make_cube() -> Callable[..., np.ndarray]:
    """``make_cube(n, bands=2, size=8, seed=0)``: ``(n, bands, S, S)`` float32 noise."""
    return _cube


@pytest.fixture
def make_table() -> Callable[..., Table]:
    """``make_table(n, **columns)``: ids ``10..``, random ra/dec, extra columns."""
    return _table


@pytest.fixture
def write_cube() -> Callable[..., Path]:
    """``write_cube(path, cube, table, **header)``: a FITS cube (+ CATALOG HDU)."""
    return _write_cube
