"""Tests of stores opened from fsspec URLs (explorer.store.location).

The same store is opened from its local path, from a ``file://`` URL and from a
copy on ``memory://``; every reader must give the same values, the local ones
memory-mapped, and writes to ``memory://`` (which has no atomic rename) must
say so in one warning naming the store.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import uuid

import fsspec
import numpy as np
import pandas as pd
import pytest

from explorer import cli
from explorer.errors import StoreError
from explorer.store import Store, layout, location
from explorer.store.export import source_table


def _tiny_store(root, n=40, seed=0) -> Store:
    """``n`` 8x8 two-band sources with one version ``v1`` (map + embeddings)."""
    rng = np.random.default_rng(seed)
    catalog = pd.DataFrame(
        {
            "id": np.arange(500, 500 + n, dtype=np.int64),
            "ra": rng.uniform(0, 360, n),
            "dec": rng.uniform(-90, 90, n),
            "mag_r": rng.normal(20, 1, n).astype(np.float32),
        }
    )
    with Store.build(root, ["g", "r"], 8) as builder:
        builder.append(rng.normal(size=(n, 2, 8, 8)).astype(np.float32), catalog)
    store = builder.store
    emb = rng.normal(size=(n, 4)).astype(np.float32)
    with store.new_version("v1", info={"embedding_dim": 4}) as tmp:
        np.save(tmp / layout.EMBEDDINGS, emb / np.linalg.norm(emb, axis=1)[:, None])
        (tmp / layout.CONFIG).write_text(json.dumps({"features": "random"}))
        pd.DataFrame(
            {
                "id": catalog["id"],
                "x": rng.normal(size=n).astype(np.float32),
                "y": rng.normal(size=n).astype(np.float32),
                "anomaly_score": rng.uniform(size=n).astype(np.float32),
                "cluster": (np.arange(n) % 3 - 1).astype(np.int32),
            }
        ).to_parquet(tmp / layout.MAP, index=False)
    return store


def _to_memory(local_root) -> str:
    """Copy a local store to a fresh ``memory://`` folder; return its URL."""
    name = f"/latentsky-test-{uuid.uuid4().hex[:8]}/store"
    fsspec.filesystem("memory").put(str(local_root), name, recursive=True)
    return f"memory:/{name}"


@pytest.fixture
def local(tmp_path) -> Store:
    return _tiny_store(tmp_path / "store")


@pytest.fixture(autouse=True)
def _clear_memory():
    """Drop what a test put on memory:// (it lives as long as the process)."""
    yield
    memory = fsspec.filesystem("memory")
    for path in memory.ls("/", detail=False):
        if path.lstrip("/").startswith("latentsky-test-"):
            memory.rm(path, recursive=True)


@pytest.fixture
def url(local):
    return _to_memory(local.root)


def test_memory_store_reads_the_same_values_as_the_local_path(local, url):
    remote = Store.open(url)
    assert location.is_remote(remote.root) and str(remote.root) == url
    assert remote.n_sources == 40 and remote.bands == ["g", "r"]
    pd.testing.assert_frame_equal(remote.catalog, local.catalog)
    np.testing.assert_array_equal(remote.embeddings(), local.embeddings())
    assert not isinstance(remote.embeddings(), np.memmap)
    assert not remote.embeddings().flags.writeable  # read-only, as the memmap
    pd.testing.assert_frame_equal(remote.map_table(), local.map_table())
    rows = [0, 17, 39]
    np.testing.assert_array_equal(remote.cutouts_at(rows), local.cutouts_at(rows))
    np.testing.assert_array_equal(remote.cutout(517), local.cutout(517))
    assert remote.version_config() == {"features": "random"}
    assert remote.summary().splitlines()[0] == f"store      {url}"


def test_file_url_is_the_local_store_memory_mapped(local):
    store = Store.open(f"file://{local.root}")
    assert store.root == local.root
    assert isinstance(store.embeddings(), np.memmap)
    np.testing.assert_array_equal(store.embeddings(), local.embeddings())
    pd.testing.assert_frame_equal(store.map_table(), local.map_table())


def test_health_check_runs_through_fsspec(local, url):
    store = Store.open(url, check=True)
    assert store.damaged == {}
    # cut the embeddings short: the quick check reads the header and the size
    emb = store.version_file("v1", layout.EMBEDDINGS)
    emb.write_bytes(emb.read_bytes()[:-16])
    store = Store.open(url, check=True)
    assert "is truncated" in store.damaged["v1"]
    with pytest.raises(StoreError, match="is damaged"):
        store.embeddings("v1")


def test_memory_writes_warn_once_that_they_are_not_atomic(url, caplog):
    store = Store.open(url)
    vectors = np.eye(40, 4, dtype=np.float32)
    with caplog.at_level(logging.WARNING, logger="explorer.store.location"):
        with store.new_version("v2", info={"embedding_dim": 4}) as tmp:
            np.save(tmp / layout.EMBEDDINGS, vectors)
        store.set_current("v1")
    warnings = [r.getMessage() for r in caplog.records if "atomic" in r.getMessage()]
    assert len(warnings) == 1
    assert warnings[0].startswith(f"{url}: memory:// has no atomic rename")
    reopened = Store.open(url)
    assert reopened.versions == ["v1", "v2"] and reopened.current_version == "v1"
    np.testing.assert_array_equal(reopened.embeddings("v2"), vectors)
    reopened.delete_version("v2")
    assert not (store.root / layout.VERSIONS / "v2").exists()
    assert Store.open(url).versions == ["v1"]


@pytest.mark.parametrize(
    ("root", "expected"),
    [
        ("nope://bucket/store", "store URL 'nope://bucket/store': protocol 'nope'"),
        ("memory://no/such/store", "store memory://no/such/store does not exist"),
    ],
)
def test_bad_urls_are_one_line_errors(root, expected, capsys):
    with pytest.raises(StoreError, match="^" + expected.replace(".", r"\.")):
        Store.open(root)
    assert cli.main(["info", root]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and expected in err


def test_info_and_export_commands_take_a_url(local, url, tmp_path, capsys):
    assert cli.main(["info", url]) == 0
    assert capsys.readouterr().out.startswith(f"store      {url}\n")
    out = tmp_path / "top.csv"
    argv = ["export", url, "--top-anomalies", "5", "--out", str(out)]
    assert cli.main(argv) == 0
    written = pd.read_csv(out, comment="#")
    top = local.map_table().nlargest(5, "anomaly_score")["id"].to_numpy()
    assert written["id"].tolist() == top.tolist()
    expected = source_table(local, top)
    np.testing.assert_allclose(written["map_x"], expected["map_x"], rtol=1e-6)
    np.testing.assert_allclose(written["ra"], expected["ra"], rtol=1e-12)


def test_url_store_annotations_live_in_a_local_copy(url, tmp_path, monkeypatch):
    from explorer.store.annotations import Annotations

    monkeypatch.setenv("LATENTSKY_CACHE", str(tmp_path / "cache"))
    store = Store.open(url)
    path = store.annotations_path
    assert path.is_relative_to(tmp_path / "cache") and not path.exists()
    Annotations(path).tag([503, 504], "interesting")
    with sqlite3.connect(path) as con:  # fold the WAL into the file to copy it
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    # a URL store that already holds a database: a new cache downloads it
    (store.root / layout.ANNOTATIONS).write_bytes(path.read_bytes())
    monkeypatch.setenv("LATENTSKY_CACHE", str(tmp_path / "cache2"))
    copy = Store.open(url).annotations_path
    assert copy != path
    assert Annotations(copy).tag_of([503, 504, 505]).tolist() == [
        "interesting",
        "interesting",
        "",
    ]


def test_analyse_reads_and_writes_a_memory_store(analysed_store_copy, tmp_path):
    """``latentsky analyse`` on a memory:// copy gives the local run's map."""
    url = _to_memory(analysed_store_copy)
    argv = ["analyse", "--map", "pca", "--no-progress", "--align-to", "none"]
    assert cli.main([*argv[:1], url, *argv[1:]]) == 0
    assert cli.main([*argv[:1], str(analysed_store_copy), *argv[1:]]) == 0
    remote, local = Store.open(url), Store.open(analysed_store_copy)
    got, expected = remote.map_table("v1"), local.map_table("v1")
    assert list(got.columns) == list(expected.columns)
    for column in ("x", "y", "anomaly_score", "cluster"):
        np.testing.assert_allclose(got[column], expected[column], atol=1e-5)
    assert (remote.version_dir("v1") / layout.INDEX).is_file()
    analysis = json.loads((remote.version_dir("v1") / layout.ANALYSIS).read_text())
    assert analysis["map"]["method"] == "pca"


@pytest.mark.slow  # imports panel and builds every view
def test_the_dashboard_opens_a_memory_store(analysed_store, tmp_path, monkeypatch):
    """What ``latentsky serve URL`` does before the first browser connects."""
    from explorer.app import services
    from explorer.app.main import create_app, extension
    from explorer.app.server import warm_up
    from explorer.commands.serve import _first_version

    monkeypatch.setenv("LATENTSKY_CACHE", str(tmp_path / "cache"))
    url = _to_memory(analysed_store)
    store = Store.open(url, check=True)
    assert _first_version(store, None) == "v1"
    extension()
    template = create_app(store, sync_url=False)
    state = template.state
    state.select_box((-1e9, -1e9, 1e9, 1e9))
    assert len(state.selection_ids) == store.n_sources
    assert warm_up(store, "v1") >= 0
    # the FAISS index is read through fsspec: the same neighbours as locally
    local = Store.open(analysed_store)
    got = services.similarity_index(store, "v1").search(store.embeddings()[:3], 5)
    expected = services.similarity_index(local, "v1").search(local.embeddings()[:3], 5)
    np.testing.assert_array_equal(got[0], expected[0])
    np.testing.assert_array_equal(got[1], expected[1])
    png = services.cutout_images(store).png(int(store.ids[0]))
    assert png.startswith(b"\x89PNG") and png == services.cutout_images(local).png(
        int(local.ids[0])
    )


def test_a_store_is_built_on_a_url_manifest_last(local, caplog, monkeypatch):
    """``Store.build`` to memory:// uploads the finished store, warning once."""
    url = f"memory://latentsky-test-{uuid.uuid4().hex[:8]}/built"
    pixels, catalog = local.cutouts_at(range(40)), local.catalog
    memory = type(fsspec.filesystem("memory"))
    put, seen = memory.put, []

    def spy(self, lpath, rpath, *args, **kwargs):
        root = url.removeprefix("memory:/")
        seen.append((rpath, self.exists(f"{root}/{layout.CATALOG}")))
        return put(self, lpath, rpath, *args, **kwargs)

    monkeypatch.setattr(memory, "put", spy)
    with caplog.at_level(logging.WARNING, logger="explorer.store.location"):
        with Store.build(url, ["g", "r"], 8) as builder:
            builder.append(pixels[:25], catalog.iloc[:25])
            builder.append(pixels[25:], catalog.iloc[25:])
    assert [r.getMessage() for r in caplog.records if "atomic" in r.getMessage()]
    # the manifest goes up alone, after the catalogue (and the cutouts) are there
    assert seen[-1][0].endswith(f"/built/{layout.MANIFEST}") and seen[-1][1]
    assert not any(rpath.endswith(layout.MANIFEST) for rpath, _ in seen[:-1])
    built = Store.open(url, check=True)
    assert location.is_remote(built.root) and built.damaged == {}
    np.testing.assert_array_equal(built.cutouts_at(range(40)), pixels)
    pd.testing.assert_frame_equal(built.catalog, catalog)
    with pytest.raises(StoreError, match="already exists"):
        Store.build(url, ["g", "r"], 8)
