"""explorer.store.store: random access, versions, errors."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest

from explorer.errors import StoreError
from explorer.store import CONFIG, EMBEDDINGS, MANIFEST, Store


def test_rows_of_and_cutout_by_id(big):
    store, pixels, catalog = big
    ids = catalog["id"].to_numpy()
    picks = np.array([len(pixels) - 1, 0, 1024, 1023, 77])
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
    store, pixels, _ = big
    text = store.summary()
    assert f"{len(pixels):,}" in text
    assert "g, r" in text
    assert "8x8" in text


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


def test_versions_are_listed_oldest_first_even_within_one_second(store):
    for name in ("b", "a", "c"):
        _add_version(store, name)
    assert store.versions == ["b", "a", "c"]
    assert Store.open(store.root).versions == ["b", "a", "c"]
    store.delete_version("c")
    assert store.current_version == "a"


def test_version_checkpoint_reads_the_config(store):
    _add_version(store, "v1")
    assert store.version_checkpoint("v1") == Path("v1")  # as the config names it
    (store.root / "model.pt").write_bytes(b"")
    config = store.version_file("v1", CONFIG)
    config.write_text(json.dumps({"checkpoint": {"path": "model.pt"}}))
    assert store.version_checkpoint() == store.root / "model.pt"
    config.write_text(json.dumps({"checkpoint_path": "/abs/m.pt"}))
    assert store.version_checkpoint("v1") == Path("/abs/m.pt")
    config.write_text("{}")
    assert store.version_checkpoint("v1") is None
