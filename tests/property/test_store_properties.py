"""Round-trip properties of the store (hypothesis): what is built is read back."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from explorer.store import Store
from explorer.store.catalog import rows_of_ids

SLOWISH = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@st.composite
def surveys(draw) -> tuple[list[str], np.ndarray, pd.DataFrame, list[int]]:
    """Bands, ``(n, B, S, S)`` pixels, a catalogue and the append chunk bounds."""
    n_bands = draw(st.integers(1, 5))
    bands = draw(
        st.lists(
            st.text("abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=4),
            min_size=n_bands,
            max_size=n_bands,
            unique=True,
        )
    )
    n, size = draw(st.integers(1, 60)), draw(st.integers(8, 20))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    pixels = (rng.normal(size=(n, n_bands, size, size)) * 1e3).astype(np.float32)
    ids = rng.choice(10 * n + 10, size=n, replace=False).astype(np.int64) - 5 * n
    catalog = pd.DataFrame(
        {
            "id": ids,
            "ra": rng.uniform(0, 360, n),
            "dec": rng.uniform(-90, 90, n),
            "label": [f"s{i}-é" for i in range(n)],
        }
    )
    cuts = sorted(draw(st.sets(st.integers(1, max(n - 1, 1)), max_size=5)))
    bounds = [0, *[c for c in cuts if c < n], n]
    return bands, pixels, catalog, bounds


@SLOWISH
@given(survey=surveys())
def test_a_built_store_reads_back_its_cutouts_and_catalogue(survey):
    bands, pixels, catalog, bounds = survey
    root = Path(tempfile.mkdtemp(prefix="prop-store-")) / "s"
    try:
        with Store.build(root, bands, pixels.shape[-1], source="property") as b:
            for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
                b.append(pixels[lo:hi], catalog.iloc[lo:hi])
        store = Store.open(root)
        assert store.bands == bands
        assert store.n_sources == len(pixels)
        np.testing.assert_array_equal(np.asarray(store.cutouts[:]), pixels)
        got = store.catalog
        for col in ("id", "ra", "dec", "label"):
            np.testing.assert_array_equal(got[col].to_numpy(), catalog[col].to_numpy())
        row = len(pixels) // 2
        np.testing.assert_array_equal(
            store.cutout(int(catalog["id"][row])), pixels[row]
        )
    finally:
        shutil.rmtree(root.parent, ignore_errors=True)


@settings(max_examples=50, deadline=None)
@given(
    ids=st.lists(st.integers(-(2**62), 2**62), min_size=1, max_size=200, unique=True),
    seed=st.integers(0, 2**32 - 1),
)
def test_rows_of_ids_inverts_indexing(ids, seed):
    known = np.asarray(ids, dtype=np.int64)
    rows = np.random.default_rng(seed).integers(len(known), size=3 * len(known))
    np.testing.assert_array_equal(rows_of_ids(known, known[rows], what="t"), rows)
