"""explorer.store.builder: chunked builds published atomically."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from explorer.errors import StoreError
from explorer.store import Store, is_store


def test_build_and_open_round_trip(big):
    store, pixels, catalog = big
    reopened = Store.open(store.root)
    assert reopened.n_sources == len(pixels)
    assert reopened.bands == ["g", "r"]
    assert reopened.cutout_size == 8
    assert reopened.versions == []
    assert reopened.current_version is None
    assert reopened.cutouts.shape == pixels.shape
    np.testing.assert_array_equal(np.asarray(reopened.cutouts[:]), pixels)
    pd.testing.assert_frame_equal(reopened.catalog, catalog.reset_index(drop=True))
    np.testing.assert_array_equal(reopened.ids, catalog["id"].to_numpy())
    assert is_store(store.root)
    leftovers = [p.name for p in store.root.parent.iterdir() if p.name != "big"]
    assert leftovers == []


def test_build_refuses_existing_paths(store, tmp_path, make_pixels, make_catalog):
    other = tmp_path / "other"
    other.mkdir()
    (other / "keep.txt").write_text("mine")
    with pytest.raises(StoreError, match="not a latentsky store"):
        Store.build(other, ["r"], 8)
    assert (other / "keep.txt").read_text() == "mine"
    with pytest.raises(StoreError, match="already exists"):
        Store.build(store.root, ["r"], 8)
    empty = tmp_path / "empty"
    empty.mkdir()
    with Store.build(empty, ["r"], 8) as builder:
        builder.append(make_pixels(3, bands=1), make_catalog(np.arange(3)))
    assert Store.open(empty).n_sources == 3


def test_overwrite_replaces_store(store, make_pixels, make_catalog):
    with Store.build(store.root, ["g", "r"], 8, overwrite=True) as builder:
        builder.append(make_pixels(4), make_catalog(np.arange(4) + 50))
    reopened = Store.open(store.root)
    assert reopened.n_sources == 4
    assert reopened.bands == ["g", "r"]


def test_append_rejects_bad_chunks(tmp_path, make_pixels, make_catalog):
    root = tmp_path / "s"
    with pytest.raises(StoreError, match="NaN"):
        with Store.build(root, ["r"], 8) as builder:
            bad = make_pixels(2, bands=1)
            bad[1, 0, 3, 3] = np.nan
            builder.append(bad, make_catalog(np.arange(2)))
    with pytest.raises(StoreError, match="shape"):
        with Store.build(root, ["r"], 8) as builder:
            builder.append(make_pixels(2, bands=2), make_catalog(np.arange(2)))
    with pytest.raises(StoreError, match="2 cutouts"):
        with Store.build(root, ["r"], 8) as builder:
            builder.append(make_pixels(2, bands=1), make_catalog(np.arange(3)))
    with pytest.raises(StoreError, match="empty"):
        with Store.build(root, ["r"], 8):
            pass
    with pytest.raises(StoreError, match="duplicate"):
        with Store.build(root, ["r"], 8) as builder:
            builder.append(make_pixels(2, bands=1), make_catalog(np.array([4, 4])))
    assert not root.exists()
    assert list(Path(tmp_path).iterdir()) == []


def test_build_argument_errors(tmp_path):
    with pytest.raises(StoreError, match="at least one band"):
        Store.build(tmp_path / "s", [], 8)
    with pytest.raises(StoreError, match="not unique"):
        Store.build(tmp_path / "s", ["g", "g"], 8)
    with pytest.raises(StoreError, match="too small"):
        Store.build(tmp_path / "s", ["g"], 4)
