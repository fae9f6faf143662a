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


def test_overwrite_losses_names_versions_and_annotations(small_store_copy):
    from explorer.store.annotations import Annotations
    from explorer.store.builder import overwrite_losses

    assert overwrite_losses(small_store_copy) is None
    notes = Annotations(small_store_copy / "annotations.sqlite")
    for name in ("a", "b", "c"):
        notes.save_cluster(name, [1, 2])
    assert overwrite_losses(small_store_copy) == "3 saved clusters"
    store = Store.open(small_store_copy)
    for version in ("v1", "v2"):
        with store.new_version(version) as tmp:
            (tmp / "embeddings.npy").write_bytes(b"")
    assert overwrite_losses(small_store_copy) == (
        "2 versions (v1, v2) and 3 saved clusters"
    )


def test_overwrite_needs_yes_when_it_drops_work(small_store_copy, demo_fits, capsys):
    from explorer.cli import main
    from explorer.store.annotations import Annotations

    Annotations(small_store_copy / "annotations.sqlite").save_cluster("a", [1])
    before = sorted(p.name for p in small_store_copy.rglob("*"))
    argv = ["ingest", str(demo_fits), str(small_store_copy), "--overwrite"]
    assert main([*argv, "--no-progress"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        f"latentsky ingest: error: store {small_store_copy} has 1 saved cluster: "
        "add --yes to replace it"
    ]
    assert sorted(p.name for p in small_store_copy.rglob("*")) == before
    assert main([*argv, "--no-progress", "--force"]) == 0
    assert not (small_store_copy / "annotations.sqlite").exists()


def test_open_completes_an_overwrite_killed_between_renames(store, tmp_path):
    import subprocess
    import sys

    from explorer.store import layout
    from explorer.store.atomic import write_json

    pid = int(
        subprocess.run(
            [sys.executable, "-c", "import os; print(os.getpid())"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    root = store.root
    old = layout.old_copy(root, pid)
    new = root.with_name(layout.building_prefix(root, pid) + "x")
    journal = layout.swap_journal(root, pid)
    write_json(journal, {"target": root.name, "new": new.name, "old": old.name})
    root.rename(old)  # killed here: nothing at the path
    reopened = Store.open(root)  # new is gone too: the old store comes back
    assert reopened.n_sources == 10
    assert sorted(p.name for p in root.parent.iterdir()) == [root.name]


def test_build_removes_dead_builds_of_its_target(tmp_path, make_pixels, make_catalog):
    from explorer.store import layout

    root = tmp_path / "s"
    stale = tmp_path / (layout.building_prefix(root, 2**22 + 7) + "abc")
    stale.mkdir()
    (stale / "x").write_text("half")
    with Store.build(root, ["r"], 8) as builder:
        builder.append(make_pixels(3, bands=1), make_catalog(np.arange(3)))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s"]
