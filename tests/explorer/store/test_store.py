"""The embedding store: building, random access, versions, errors."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from explorer.errors import StoreError
from explorer.store import (
    CONFIG,
    EMBEDDINGS,
    FORMAT_VERSION,
    MANIFEST,
    SHARD_SOURCES,
    Store,
    is_store,
)

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


def test_build_and_open_round_trip(big):
    store, pixels, catalog = big
    reopened = Store.open(store.root)
    assert reopened.n_sources == N_BIG
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


def test_rows_of_and_cutout_by_id(big):
    store, pixels, catalog = big
    ids = catalog["id"].to_numpy()
    picks = np.array([N_BIG - 1, 0, 1024, 1023, 77])
    np.testing.assert_array_equal(store.rows_of(ids[picks]), picks)
    for row in picks:
        np.testing.assert_array_equal(store.cutout(int(ids[row])), pixels[row])
    np.testing.assert_array_equal(store.cutouts_at(picks), pixels[picks])
    assert store.cutouts_at([]).shape == (0, 2, 8, 8)
    with pytest.raises(StoreError, match=r"\[5\]"):
        store.rows_of([ids[0], 5])


def test_iter_cutouts_covers_all_rows_in_order(big):
    store, pixels, _ = big
    starts, blocks = zip(*store.iter_cutouts(batch=1000), strict=True)
    assert starts == (0, 1000, 2000)
    np.testing.assert_array_equal(np.concatenate(blocks), pixels)


def test_random_cutout_access_is_fast(big):
    store, _, catalog = big
    ids = catalog["id"].to_numpy()
    store.cutout(int(ids[0]))  # open the array
    picks = np.random.default_rng(2).choice(ids, 40)
    times = []
    for source_id in picks:
        started = time.perf_counter()
        store.cutout(int(source_id))
        times.append(time.perf_counter() - started)
    # target is < 5 ms; a shared CI core gets head-room
    assert np.median(times) < 0.02


def test_summary_mentions_geometry(big):
    store, _, _ = big
    text = store.summary()
    assert f"{N_BIG:,}" in text
    assert "g, r" in text
    assert "8x8" in text


@pytest.fixture
def store(tmp_path) -> Store:
    with Store.build(tmp_path / "s", ["r"], 8) as builder:
        builder.append(_pixels(10, bands=1), _catalog(np.arange(10)))
    assert builder.store is not None
    return builder.store


def _add_version(store: Store, name: str, dim: int = 4, **kwargs) -> np.ndarray:
    emb = np.random.default_rng(len(name)).normal(size=(store.n_sources, dim))
    emb = (emb / np.linalg.norm(emb, axis=1, keepdims=True)).astype(np.float32)
    with store.new_version(name, info={"embedding_dim": dim}, **kwargs) as tmp:
        np.save(tmp / EMBEDDINGS, emb)
        (tmp / CONFIG).write_text(json.dumps({"checkpoint": name}))
    return emb


def test_new_version_is_published_and_current(store):
    emb = _add_version(store, "v1")
    assert store.versions == ["v1"]
    assert store.current_version == "v1"
    np.testing.assert_array_equal(store.embeddings(), emb)
    assert isinstance(store.embeddings("v1"), np.memmap)
    assert store.version_config("v1") == {"checkpoint": "v1"}
    assert store.version_info("v1")["embedding_dim"] == 4
    assert store.version_file("v1", "x.txt") == store.root / "versions" / "v1" / "x.txt"
    reopened = Store.open(store.root)
    assert reopened.versions == ["v1"]
    with pytest.raises(StoreError, match="map.parquet"):
        store.map_table("v1")


def test_failed_version_leaves_nothing_visible(store):
    _add_version(store, "v1")
    manifest_before = (store.root / MANIFEST).read_bytes()
    with pytest.raises(RuntimeError, match="boom"):
        with store.new_version("v2") as tmp:
            np.save(tmp / EMBEDDINGS, np.zeros((10, 4), np.float32))
            raise RuntimeError("boom")
    assert (store.root / MANIFEST).read_bytes() == manifest_before
    assert sorted(p.name for p in (store.root / "versions").iterdir()) == ["v1"]
    assert Store.open(store.root).versions == ["v1"]
    assert store.current_version == "v1"


def test_set_current_and_delete(store):
    _add_version(store, "v1")
    _add_version(store, "v2", make_current=False)
    assert store.current_version == "v1"
    store.set_current("v2")
    assert Store.open(store.root).current_version == "v2"
    store.delete_version("v2")
    assert store.versions == ["v1"]
    assert store.current_version == "v1"
    assert not (store.root / "versions" / "v2").exists()
    with pytest.raises(StoreError, match="no version 'v2'"):
        store.set_current("v2")


def test_version_name_rules(store):
    _add_version(store, "v1")
    with pytest.raises(StoreError, match="already has a version 'v1'"):
        _add_version(store, "v1")
    _add_version(store, "v1", overwrite=True)
    for bad in ("", "../x", "a b", ".hidden"):
        with pytest.raises(StoreError, match="not valid"):
            _add_version(store, bad)


def test_no_version_yet_is_a_clear_error(store):
    with pytest.raises(StoreError, match="no embedding version"):
        store.embeddings()


def test_newer_format_version_is_refused(store):
    manifest = json.loads((store.root / MANIFEST).read_text())
    manifest["format_version"] = FORMAT_VERSION + 1
    (store.root / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(StoreError, match="newer"):
        Store.open(store.root)


def test_open_errors(tmp_path):
    with pytest.raises(StoreError, match="does not exist"):
        Store.open(tmp_path / "missing")
    with pytest.raises(StoreError, match="not a latentsky store"):
        Store.open(tmp_path)
    (tmp_path / MANIFEST).write_text("{not json")
    with pytest.raises(StoreError, match="not valid JSON"):
        Store.open(tmp_path)
    (tmp_path / MANIFEST).write_text(json.dumps({"format": "other"}))
    with pytest.raises(StoreError, match="format"):
        Store.open(tmp_path)


def test_build_refuses_existing_paths(store, tmp_path):
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
        builder.append(_pixels(3, bands=1), _catalog(np.arange(3)))
    assert Store.open(empty).n_sources == 3


def test_overwrite_replaces_store(store):
    with Store.build(store.root, ["g", "r"], 8, overwrite=True) as builder:
        builder.append(_pixels(4), _catalog(np.arange(4) + 50))
    reopened = Store.open(store.root)
    assert reopened.n_sources == 4
    assert reopened.bands == ["g", "r"]


def test_append_rejects_bad_chunks(tmp_path):
    root = tmp_path / "s"
    with pytest.raises(StoreError, match="NaN"):
        with Store.build(root, ["r"], 8) as builder:
            bad = _pixels(2, bands=1)
            bad[1, 0, 3, 3] = np.nan
            builder.append(bad, _catalog(np.arange(2)))
    with pytest.raises(StoreError, match="shape"):
        with Store.build(root, ["r"], 8) as builder:
            builder.append(_pixels(2, bands=2), _catalog(np.arange(2)))
    with pytest.raises(StoreError, match="2 cutouts"):
        with Store.build(root, ["r"], 8) as builder:
            builder.append(_pixels(2, bands=1), _catalog(np.arange(3)))
    with pytest.raises(StoreError, match="empty"):
        with Store.build(root, ["r"], 8):
            pass
    with pytest.raises(StoreError, match="duplicate"):
        with Store.build(root, ["r"], 8) as builder:
            builder.append(_pixels(2, bands=1), _catalog(np.array([4, 4])))
    assert not root.exists()
    assert list(Path(tmp_path).iterdir()) == []


def test_build_argument_errors(tmp_path):
    with pytest.raises(StoreError, match="at least one band"):
        Store.build(tmp_path / "s", [], 8)
    with pytest.raises(StoreError, match="not unique"):
        Store.build(tmp_path / "s", ["g", "g"], 8)
    with pytest.raises(StoreError, match="too small"):
        Store.build(tmp_path / "s", ["g"], 4)


def test_versions_are_listed_oldest_first_even_within_one_second(store):
    for name in ("b", "a", "c"):
        _add_version(store, name)
    assert store.versions == ["b", "a", "c"]
    assert Store.open(store.root).versions == ["b", "a", "c"]
    store.delete_version("c")
    assert store.current_version == "a"
