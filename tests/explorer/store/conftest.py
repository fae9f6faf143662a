"""Stores shared by the tests of explorer.store."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from explorer.store import SHARD_SOURCES, Store

N_BIG = SHARD_SOURCES * 2 + 137  # spans three shards, the last one partial


def _pixels(n: int, bands: int = 2, size: int = 8, seed: int = 0) -> np.ndarray:
    return (
        np.random.default_rng(seed)
        .normal(size=(n, bands, size, size))
        .astype(np.float32)
    )


def _catalog(ids: np.ndarray, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "id": np.asarray(ids, dtype=np.int64),
            "ra": rng.uniform(0, 360, len(ids)),
            "dec": rng.uniform(-90, 90, len(ids)),
            "mag_r": rng.uniform(15, 22, len(ids)).astype(np.float32),
            "_truth_label": np.where(np.arange(len(ids)) % 2, "a", "b"),
        }
    )


@pytest.fixture(scope="module")
def big(tmp_path_factory) -> tuple[Store, np.ndarray, pd.DataFrame]:
    """A store built from uneven chunks spanning shard boundaries; ids shuffled."""
    root = tmp_path_factory.mktemp("store") / "big"
    pixels = _pixels(N_BIG)
    ids = np.random.default_rng(1).permutation(N_BIG).astype(np.int64) * 7 + 100
    catalog = _catalog(ids)
    bounds = [0, 1, 500, 1023, 1030, 2100, N_BIG]
    with Store.build(root, ["g", "r"], 8, source="unit test") as builder:
        for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
            builder.append(pixels[lo:hi], catalog.iloc[lo:hi])
    assert builder.store is not None
    return builder.store, pixels, catalog


@pytest.fixture
def make_pixels():
    """``make_pixels(n, bands=2, size=8, seed=0)``: random ``(n, bands, S, S)``."""
    return _pixels


@pytest.fixture
def make_catalog():
    """``make_catalog(ids, seed=0)``: a catalogue of ``ids`` with random sky."""
    return _catalog


@pytest.fixture
def store(tmp_path) -> Store:
    with Store.build(tmp_path / "s", ["r"], 8) as builder:
        builder.append(_pixels(10, bands=1), _catalog(np.arange(10)))
    assert builder.store is not None
    return builder.store
