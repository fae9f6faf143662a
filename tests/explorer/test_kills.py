"""Crash safety: SIGKILL every command that changes a store at random points.

``ingest``, ``ingest --overwrite --yes``, ``embed`` and ``analyse`` are run by
the fork server ``kills/forker.py`` (real ``explorer.cli.main`` in a forked
child, killed after ``uniform(0, D)`` s, ``D`` its measured warm duration);
annotation saves by a real ``python -c`` loop. After each kill the next open
(``Store.open(check=True)``) must succeed, what was there before must be
byte-identical, every save that returned must be there and nothing may be
left behind.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from explorer.store import Store, layout
from explorer.store.annotations import Annotations
from explorer.store.health import leftovers, repair

pytestmark = pytest.mark.slow

#: runs killed per command (runs that finished before their delay come extra)
KILLS = 20
REPO = Path(__file__).resolve().parents[2]
FORKER = Path(__file__).parent / "kills" / "forker.py"
_SQLITE_SIDE = ("-wal", "-shm")


def _digest(root: Path, skip: tuple[str, ...] = ()) -> dict[str, str]:
    """sha256 of every file under ``root`` (SQLite side files and ``skip`` aside)."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
        and not p.name.endswith(_SQLITE_SIDE)
        and not str(p.relative_to(root)).startswith(skip or ("\0",))
    }


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO)}


def _reopen(root: Path) -> Store:
    """The next open after a kill: it must work and leave nothing behind."""
    store = Store.open(root, check=True)
    assert leftovers(root) == []
    assert sorted(p.name for p in root.parent.iterdir()) == [root.name]
    return store


@pytest.fixture(scope="module")
def kill_runs(small_store, demo_fits, tiny_checkpoint, tmp_path_factory):
    """``(template, results)``: every forker job run against copies of a store
    with versions v1, v2 (current) and three saved clusters."""
    base = tmp_path_factory.mktemp("kills")
    template = base / "template"
    shutil.copytree(small_store, template)
    notes = Annotations(template / layout.ANNOTATIONS)
    for i in range(3):
        notes.save_cluster(f"saved{i}", range(i * 10, i * 10 + 10))
    ckpt = ["--checkpoint", str(tiny_checkpoint), "--workers", "0"]
    ckpt += ["--device", "cpu"]
    ingest = ["ingest", str(demo_fits), "{store}", "--no-progress"]
    common = {"template": str(template), "kills": KILLS}
    jobs = {
        "ingest": {"argv": ingest, "template": None, "kills": KILLS, "seed": 1},
        "overwrite": {
            **common,
            "argv": [*ingest, "--overwrite", "--yes"],
            "seed": 2,
            "alternate_exchange": True,
        },
        "embed": {**common, "argv": ["embed", "{store}", *ckpt, "--version", "v3"]},
        "analyse": {**common, "argv": ["analyse", "{store}", "--version", "v2"]},
    }
    jobs["embed"]["seed"], jobs["analyse"]["seed"] = 3, 4
    setup = [["embed", str(template), *ckpt, "--version", v] for v in ("v1", "v2")]
    spec = {"setup": setup, "jobs": jobs, "trials": str(base / "trials")}
    (base / "spec.json").write_text(json.dumps(spec))
    result = subprocess.run(
        [sys.executable, str(FORKER), str(base / "spec.json"), str(base / "out.json")],
        cwd=REPO,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return template, json.loads((base / "out.json").read_text())


def _trials(results: dict, job: str) -> list[Path]:
    trials = results[job]["trials"]
    killed = sum(t["killed"] for t in trials)
    retries = results[job]["measure_retries"]
    print(f"{job}: {killed}/{len(trials)} killed, D={results[job]['duration']:.2f}s")
    print(f"{job}: {retries} measuring run(s) hung in the fork server first")
    assert killed >= KILLS
    return [Path(t["store"]) for t in trials]


def test_killed_ingest_leaves_a_whole_store_or_nothing(kill_runs, small_store):
    _, results = kill_runs
    reference = Store.open(small_store)
    for root in _trials(results, "ingest"):
        if not root.exists():
            repair(root)  # what the next ingest of this path does first
            assert list(root.parent.iterdir()) == []
            continue
        store = _reopen(root)
        assert store.n_sources == reference.n_sources
        pd.testing.assert_frame_equal(store.catalog, reference.catalog)
        np.testing.assert_array_equal(store.cutouts[:], reference.cutouts[:])


def test_killed_overwrite_leaves_the_old_store_or_the_new_one(kill_runs, small_store):
    template, results = kill_runs
    before = _digest(template)
    new = {k: v for k, v in _digest(small_store).items() if k != layout.MANIFEST}
    outcomes = {"old": 0, "new": 0}
    for root in _trials(results, "overwrite"):
        store = _reopen(root)
        after = _digest(root)
        if store.versions:
            assert after == before
            outcomes["old"] += 1
        else:
            assert {k: v for k, v in after.items() if k != layout.MANIFEST} == new
            outcomes["new"] += 1
    print(f"overwrite outcomes: {outcomes}")


def test_killed_embed_keeps_earlier_versions(kill_runs):
    template, results = kill_runs
    before = _digest(template, skip=(layout.MANIFEST,))
    for root in _trials(results, "embed"):
        store = _reopen(root)
        assert _digest(root, skip=(layout.MANIFEST, f"{layout.VERSIONS}/v3")) == before
        assert store.versions[:2] == ["v1", "v2"]
        assert not store.damaged
        if "v3" in store.versions:
            assert store.embeddings("v3").shape[0] == store.n_sources


def test_killed_analyse_keeps_the_other_files(kill_runs):
    template, results = kill_runs
    v2 = f"{layout.VERSIONS}/v2"
    keep = {
        k: v
        for k, v in _digest(template).items()
        if not k.startswith(v2) or k.endswith(layout.EMBEDDINGS)
    }
    keep.pop(layout.MANIFEST)
    for root in _trials(results, "analyse"):
        store = _reopen(root)
        after = _digest(root)
        assert {k: after.get(k) for k in keep} == keep
        assert not store.damaged
        assert len(store.map_table("v2")) == store.n_sources


_SAVER = """
import sys
from explorer.store.annotations import Annotations
notes, limit, i = Annotations(sys.argv[1]), int(sys.argv[2]), 0
while i < limit:
    notes.save_cluster(f"k{i}", range(i, i + 40), note="x" * i, overwrite=True)
    print(f"k{i}", flush=True)
    i += 1
"""


def _save_loop(db: Path, limit: int, delay: float | None) -> list[str]:
    """Run the saver; SIGKILL it after ``delay`` s; the names it printed."""
    argv = [sys.executable, "-c", _SAVER, str(db), str(limit)]
    proc = subprocess.Popen(argv, cwd=REPO, env=_env(), stdout=subprocess.PIPE)
    if delay is not None:
        time.sleep(delay)
        proc.kill()
    out, _ = proc.communicate(timeout=120)
    return out.decode().split()


def test_killed_annotation_saves_keep_every_returned_save(small_store_copy, tmp_path):
    db = small_store_copy / layout.ANNOTATIONS
    Annotations(db).save_cluster("before", [1, 2, 3])
    pristine = tmp_path / "pristine"
    shutil.copytree(small_store_copy, pristine)
    started = time.perf_counter()
    assert len(_save_loop(tmp_path / "measure.sqlite", 30, None)) == 30
    duration = time.perf_counter() - started
    rng = random.Random(5)
    killed = k = 0
    while killed < KILLS and k < 3 * KILLS:
        k += 1
        root = tmp_path / f"t{k:02d}" / "store"
        shutil.copytree(pristine, root)
        saved = _save_loop(root / layout.ANNOTATIONS, 30, rng.uniform(0, duration))
        killed += len(saved) < 30
        _reopen(root)
        notes = Annotations(root / layout.ANNOTATIONS)
        assert set(saved) | {"before"} <= set(notes.names())
        for name in saved:
            i = int(name[1:])
            assert notes.members(name).tolist() == list(range(i, i + 40))
        con = sqlite3.connect(root / layout.ANNOTATIONS)
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        con.close()
        assert notes.members("before").tolist() == [1, 2, 3]
        shutil.rmtree(root.parent)
    print(f"annotations: {killed}/{k} killed mid-loop, D={duration:.2f}s")
    assert killed >= KILLS
