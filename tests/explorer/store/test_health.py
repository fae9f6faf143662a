"""Store health checks against hand-damaged copies of a small store."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from explorer.errors import StoreError
from explorer.store import Store, layout
from explorer.store.health import deep_check, quick_check, repair, require_healthy

N = 60


@pytest.fixture(scope="module")
def healthy(tmp_path_factory):
    """A 60-source store with one version (embeddings, map, FAISS index) and notes."""
    import faiss

    from explorer.store.annotations import Annotations

    root = tmp_path_factory.mktemp("check") / "store"
    rng = np.random.default_rng(0)
    pixels = rng.normal(size=(N, 2, 8, 8)).astype(np.float32)
    catalog = pd.DataFrame(
        {
            "id": np.arange(N, dtype=np.int64) + 10,
            "ra": rng.uniform(0, 360, N),
            "dec": rng.uniform(-90, 90, N),
        }
    )
    with Store.build(root, ["g", "r"], 8, source="unit test") as builder:
        builder.append(pixels, catalog)
    store = Store.open(root)
    emb = rng.normal(size=(N, 4)).astype(np.float32)
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    with store.new_version("v1") as tmp:
        np.save(tmp / layout.EMBEDDINGS, emb)
        pd.DataFrame({"id": catalog["id"], "x": emb[:, 0], "y": emb[:, 1]}).to_parquet(
            tmp / layout.MAP, index=False, write_page_checksum=True
        )
        index = faiss.IndexFlatIP(4)
        index.add(emb)
        faiss.write_index(index, str(tmp / layout.INDEX))
    Annotations.of_store(store).save_cluster("a", [10, 11])
    return root


@pytest.fixture
def copy(healthy, tmp_path):
    target = tmp_path / "store"
    shutil.copytree(healthy, target)
    return target


def _messages(problems) -> str:
    return "\n".join(str(p) for p in problems)


def test_a_healthy_store_has_no_problem(healthy):
    assert quick_check(healthy) == []
    assert deep_check(healthy) == []
    require_healthy(healthy)


def test_truncated_embeddings_are_found_by_the_quick_check(copy):
    path = copy / "versions" / "v1" / layout.EMBEDDINGS
    path.write_bytes(path.read_bytes()[:-40])
    problems = quick_check(copy)
    assert len(problems) == 1
    assert problems[0].path == path and problems[0].version == "v1"
    assert "truncated" in problems[0].what
    with pytest.raises(StoreError, match="embeddings.npy: is truncated"):
        require_healthy(copy)


def test_a_map_of_the_wrong_length_is_found(copy):
    path = copy / "versions" / "v1" / layout.MAP
    pd.DataFrame({"id": [1, 2], "x": [0.0, 1.0], "y": [0.0, 1.0]}).to_parquet(path)
    assert "has 2 rows, expected 60" in _messages(quick_check(copy))


def test_a_truncated_map_is_unreadable_not_a_traceback(copy):
    path = copy / "versions" / "v1" / layout.MAP
    path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])
    problems = quick_check(copy)
    assert problems and "cannot be read" in problems[0].what
    assert "latentsky analyse" in problems[0].fix


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda m: m.pop("bands"), "'bands' is None, expected a non-empty list"),
        (
            lambda m: m.update(n_sources="60"),
            "'n_sources' is '60', expected an integer",
        ),
        (lambda m: m.update(cutout_size=0), "'cutout_size' is 0, expected an integer"),
        (lambda m: m.update(current="v9"), "current version 'v9' is not among"),
    ],
)
def test_a_malformed_manifest_names_the_key(copy, change, message):
    path = copy / layout.MANIFEST
    manifest = json.loads(path.read_text())
    change(manifest)
    path.write_text(json.dumps(manifest))
    with pytest.raises(StoreError, match=message):
        Store.open(copy)
    with pytest.raises(StoreError, match=message):
        quick_check(copy)


def test_catalogue_values_out_of_range_are_found_by_the_deep_check(copy):
    path = copy / layout.CATALOG
    cat = pd.read_parquet(path)
    cat.loc[3, "dec"] = -3.8e112
    cat.loc[5, "ra"] = 360.0
    cat.loc[7, "id"] = cat.loc[8, "id"]
    cat.to_parquet(path, index=False)
    assert quick_check(copy) == []  # sizes all agree
    text = _messages(deep_check(copy))
    assert "1 dec value(s) outside [-90, 90] or not finite (first: -3.8e+112)" in text
    assert "1 ra value(s) outside [0, 360)" in text
    assert "id 18 appears more than once" in text


def test_flipped_bytes_in_the_catalogue_are_found(copy):
    path = copy / layout.CATALOG
    data = bytearray(path.read_bytes())
    # flip bytes in the middle of the data pages (after the 4-byte magic)
    for offset in range(200, 260):
        data[offset] ^= 0xFF
    path.write_bytes(bytes(data))
    problems = deep_check(copy)
    assert any(p.path == path for p in problems), _messages(problems)


def test_a_corrupt_cutout_shard_is_found(copy):
    shards = sorted(p for p in (copy / layout.CUTOUTS).rglob("*") if p.is_file())
    shard = next(p for p in shards if p.name not in ("zarr.json",))
    data = bytearray(shard.read_bytes())
    for offset in range(16, min(len(data), 400)):
        data[offset] ^= 0x5A
    shard.write_bytes(bytes(data))
    assert quick_check(copy) == []
    text = _messages(deep_check(copy))
    assert "cutouts.zarr" in text and ("cannot be read" in text or "non-finite" in text)


def test_a_garbage_annotation_database_and_index_are_found(copy):
    (copy / layout.ANNOTATIONS).write_bytes(b"SQLite format 3\x00" + b"\x17" * 4096)
    index = copy / "versions" / "v1" / layout.INDEX
    index.write_bytes(index.read_bytes()[:30])
    text = _messages(deep_check(copy))
    assert "annotations.sqlite" in text
    assert "index.faiss: cannot be read" in text


def test_an_index_of_another_size_is_found(copy):
    import faiss

    index = faiss.IndexFlatIP(4)
    index.add(np.eye(4, dtype=np.float32))
    faiss.write_index(index, str(copy / "versions" / "v1" / layout.INDEX))
    assert "holds 4 vectors, expected 60" in _messages(deep_check(copy))


def test_sqlite_integrity_failure_reads_clearly(copy):
    con = sqlite3.connect(copy / layout.ANNOTATIONS)
    con.execute("PRAGMA journal_mode=DELETE")
    con.close()
    assert deep_check(copy) == []


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_repair_removes_dead_writers_leftovers_only(copy):
    dead, alive = _dead_pid(), os.getpid()
    versions = copy / layout.VERSIONS
    stale = [
        copy.parent / f"{layout.building_prefix(copy, dead)}abc",
        versions / f"{layout.version_build_prefix('v2', dead)}xyz",
        copy
        / f"{layout.write_prefix(copy / layout.MANIFEST, dead)}q1{layout.WRITE_SUFFIX}",
        layout.old_copy(versions / "v0", dead),
    ]
    live = [
        versions / f"{layout.version_build_prefix('v3', alive)}xyz",
        copy
        / f"{layout.write_prefix(copy / layout.MAP, alive)}q2{layout.WRITE_SUFFIX}",
    ]
    for path in stale[:2] + stale[3:] + live[:1]:
        path.mkdir(parents=True)
    for path in (stale[2], live[1]):
        path.write_text("partial")
    removed = repair(copy)
    assert sorted(removed) == sorted(stale)
    assert all(not p.exists() for p in stale)
    assert all(p.exists() for p in live)
    assert deep_check(copy) == []


def test_check_command_exit_codes_and_lines(copy, capsys):
    from explorer.cli import main

    assert main(["check", str(copy), "--deep"]) == 0
    assert "healthy (deep check)" in capsys.readouterr().out
    path = copy / "versions" / "v1" / layout.EMBEDDINGS
    path.write_bytes(path.read_bytes()[:-8])
    leftover = (
        copy / layout.VERSIONS / f"{layout.version_build_prefix('v2', _dead_pid())}k"
    )
    leftover.mkdir()
    assert main(["check", str(copy), "--repair"]) == 2
    captured = capsys.readouterr()
    assert f"removed leftover {leftover}" in captured.out
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("latentsky check: ")
    assert (
        "embeddings.npy: is truncated" in lines[0] and "Traceback" not in captured.err
    )
    assert not leftover.exists()


def test_open_for_writing_repairs_then_refuses_a_damaged_store_file(copy):
    leftover = (
        copy / layout.VERSIONS / f"{layout.version_build_prefix('v9', _dead_pid())}z"
    )
    leftover.mkdir()
    store = Store.open(copy, check=True)
    assert not leftover.exists() and store.damaged == {}
    (copy / layout.CATALOG).write_bytes(b"PAR1 not really")
    with pytest.raises(StoreError, match="catalog.parquet: cannot be read"):
        Store.open(copy, check=True)


def test_a_damaged_version_is_refused_only_when_used(copy, capsys):
    from explorer.cli import main

    path = copy / "versions" / "v1" / layout.EMBEDDINGS
    path.write_bytes(path.read_bytes()[:-8])
    store = Store.open(copy, check=True)
    assert "is truncated" in store.damaged["v1"]
    assert store.n_sources == N  # the rest of the store is usable
    with pytest.raises(StoreError, match="version 'v1' is damaged: .*truncated"):
        store.embeddings("v1")
    assert main(["analyse", str(copy), "--version", "v1"]) == 2
    err = capsys.readouterr().err
    assert "version 'v1' is damaged" in err and "Traceback" not in err
