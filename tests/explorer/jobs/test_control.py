"""Tests of explorer.jobs.runner (options, lock, cancel, crash recovery).

The slow tests run real jobs (``python -m explorer.jobs.pipeline`` with the
torch worker as its child) on the shared 400-source store with a tiny
encoder. ``LATENTSKY_JOB_STALL_PHASE`` makes a job stop after its first
progress report in a phase, so a test can cancel or kill it at a known point
instead of racing it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from explorer import jobs
from explorer.errors import DataError, StoreError
from explorer.jobs import JobRunner, pid_alive
from explorer.store import Store


def _wait_for(predicate, timeout=60.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _hidden_entries(root: Path) -> list[str]:
    versions = root / "versions"
    return sorted(p.name for p in versions.iterdir() if p.name.startswith("."))


# ------------------------------------------------------------------ fast tests
def test_options_are_checked(with_version, small_store_copy, tiny_checkpoint):
    runner = JobRunner(small_store_copy)
    with pytest.raises(DataError, match="'train' is not one of"):
        runner.start("train", checkpoint=tiny_checkpoint)
    with pytest.raises(DataError, match="no current version"):
        runner.start("embed")
    with pytest.raises(DataError, match="does not exist"):
        runner.start("embed", checkpoint=small_store_copy / "missing.pt")
    with pytest.raises(DataError, match="device 'tpu'"):
        runner.start("embed", checkpoint=tiny_checkpoint, device="tpu")
    with pytest.raises(DataError, match="positive number of epochs"):
        runner.start("finetune", checkpoint=tiny_checkpoint, epochs=0)
    with pytest.raises(DataError, match="fine-tuning jobs"):
        runner.start("embed", checkpoint=tiny_checkpoint, clusters=["a"])
    with pytest.raises(DataError, match="no saved clusters"):
        runner.start("finetune", checkpoint=tiny_checkpoint, epochs=1, clusters=True)
    with pytest.raises(DataError, match=r"named \['rings'\]"):
        runner.start("finetune", checkpoint=tiny_checkpoint, clusters=["rings"])
    with pytest.raises(DataError, match="unknown embed job option"):
        runner.start("embed", checkpoint=tiny_checkpoint, colour="red")
    with pytest.raises(StoreError, match="version name"):
        runner.start("embed", checkpoint=tiny_checkpoint, version="../x")
    with_version(small_store_copy, tiny_checkpoint)
    assert runner.checkpoints() == [{"version": "v1", "path": str(tiny_checkpoint)}]
    with pytest.raises(StoreError, match="already has a version 'v1'"):
        runner.start("embed", version="v1")
    assert runner.status() is None
    assert not (small_store_copy / "jobs" / "lock").exists()


@pytest.mark.skipif(
    __import__("importlib").util.find_spec("dask") is not None, reason="dask installed"
)
def test_scheduler_without_dask_is_a_clear_error(small_store_copy, tiny_checkpoint):
    runner = JobRunner(small_store_copy)
    with pytest.raises(StoreError, match="dask.distributed"):
        runner.start("embed", checkpoint=tiny_checkpoint, scheduler="tcp://x:8786")
    info = runner.status()
    assert info.phase == "failed" and "dask" in info.message
    assert not runner.lock_path.exists()


def test_stale_lock_is_recovered(small_store_copy, tiny_checkpoint):
    root = small_store_copy
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    job_dir = root / "jobs" / "20200101-000000-dead00"
    job_dir.mkdir(parents=True)
    spec = {
        "job_id": job_dir.name,
        "kind": "embed",
        "store": str(root),
        "options": {"version": "v7"},
        "created": "2020-01-01T00:00:00+00:00",
    }
    (job_dir / "job.json").write_text(json.dumps(spec))
    jobs.write_progress(job_dir, phase="embed", percent=40.0)
    partial = root / "versions" / ".tmp-v7-abc"
    partial.mkdir(parents=True)
    (partial / "embeddings.npy").write_bytes(b"half")
    (root / "jobs" / "lock").write_text(
        json.dumps(
            {
                "job_id": job_dir.name,
                "pid": dead.pid,
                "host": os.uname().nodename,
                "start_ticks": None,
            }
        )
    )
    runner = JobRunner(root)
    assert runner.running() is None
    info = runner.status()
    assert info.phase == "failed" and "without finishing" in info.message
    assert not partial.exists() and not runner.lock_path.exists()


def test_cli_control_without_a_job(small_store_copy, capsys):
    from explorer.cli import main

    assert main(["reembed", str(small_store_copy), "--status"]) == 0
    assert "no job has run" in capsys.readouterr().out
    assert main(["reembed", str(small_store_copy), "--cancel"]) == 2
    assert "nothing to cancel" in capsys.readouterr().err
    assert main(["reembed", str(small_store_copy), "--use-clusters"]) == 2
    assert "--finetune-epochs" in capsys.readouterr().err


def test_log_tail_keeps_last_tqdm_state(small_store_copy):
    runner = JobRunner(small_store_copy)
    job_dir = small_store_copy / "jobs" / "20200101-000000-aaaaaa"
    job_dir.mkdir(parents=True)
    spec = {
        "job_id": job_dir.name,
        "kind": "embed",
        "store": str(small_store_copy),
        "options": {"version": "v1"},
    }
    (job_dir / "job.json").write_text(json.dumps(spec))
    jobs.write_progress(job_dir, phase="done")
    (job_dir / "log.txt").write_text("start\nembed 10%\rembed 50%\rembed 100%\ndone\n")
    assert runner.log_tail(lines=2) == "embed 100%\ndone"


# ------------------------------------------------------------------ real jobs
@pytest.mark.slow
def test_cli_finetune_with_clusters_runs_to_completion(
    with_version, small_store_copy, tiny_checkpoint, job_env, capsys
):
    from explorer.cli import main
    from explorer.store.annotations import Annotations

    root = small_store_copy
    store = with_version(root, tiny_checkpoint)
    notes = Annotations(store.annotations_path)
    notes.save_cluster("first", store.ids[:20])
    notes.save_cluster("second", store.ids[100:130])
    job_env.chdir(root.parent)  # a relative store path, as users type it
    code = main(
        [
            "reembed",
            root.name,
            "--finetune-epochs",
            "1",
            "--use-clusters",
            "--device",
            "cpu",
            "--num-workers",
            "0",
            "--batch-size",
            "64",
        ]
    )
    out = capsys.readouterr()
    assert code == 0, out.err
    assert "done" in out.out
    store = Store.open(root)
    assert store.versions == ["v1", "v2"] and store.current_version == "v2"
    assert store.embeddings("v2").shape == (store.n_sources, 32)
    assert len(store.map_table("v2")) == store.n_sources
    change = np.load(store.version_dir("v2") / "diff-v1.npy")  # cached by the job
    assert change.shape == (store.n_sources,) and 0 <= change.min() <= change.max() <= 1
    config = store.version_config("v2")
    assert Path(config["checkpoint"]) == root / "checkpoints" / "v2.pt"
    info = JobRunner(root).status()
    assert info.phase == "done" and info.percent == 100.0
    assert info.device.startswith("cpu") and info.options["clusters"] == [
        "first",
        "second",
    ]
    assert not (root / "jobs" / "lock").exists()
    assert _hidden_entries(root) == []
    assert "fine-tuning with 2 cluster(s)" in JobRunner(root).log_tail(lines=200)
    assert main(["reembed", str(root), "--status"]) == 0
    assert "done" in capsys.readouterr().out


@pytest.mark.slow
def test_cancel_leaves_previous_version_current(
    digest, with_version, small_store_copy, tiny_checkpoint, job_env
):
    root = small_store_copy
    store = with_version(root, tiny_checkpoint)
    before = digest(store.version_dir("v1"))
    job_env.setenv("LATENTSKY_JOB_STALL_PHASE", "train")
    runner = JobRunner(root)
    info = runner.start(
        "finetune",
        checkpoint=tiny_checkpoint,
        epochs=3,
        device="cpu",
        num_workers=0,
        batch_size=64,
    )
    _wait_for(lambda: "stalled" in runner.status().message, what="the train phase")
    assert (root / "checkpoints" / "v2.pt").exists()  # fine-tuning has begun
    pid = runner._read_lock()["pid"]
    final = runner.cancel()
    assert final.phase == "cancelled", runner.log_tail()
    assert not pid_alive(pid)
    store = Store.open(root)
    assert store.versions == ["v1"] and store.current_version == "v1"
    assert digest(store.version_dir("v1")) == before
    assert not (root / "checkpoints" / "v2.pt").exists()
    assert _hidden_entries(root) == [] and not runner.lock_path.exists()
    assert "cancelled" in runner.log_tail(info.job_id)
    with pytest.raises(StoreError, match="nothing to cancel"):
        runner.cancel()


@pytest.mark.slow
def test_sigkill_mid_write_leaves_no_partial_version(
    with_version, small_store_copy, tiny_checkpoint, job_env
):
    root = small_store_copy
    store = with_version(root, tiny_checkpoint)
    manifest = (root / "manifest.json").read_text()
    job_env.setenv("LATENTSKY_JOB_STALL_PHASE", "embed")
    runner = JobRunner(root)
    first = runner.start("embed", device="cpu", batch_size=64, num_workers=0)
    _wait_for(lambda: "stalled" in runner.status().message, what="the embed phase")
    # mid-write: the version is being built in a hidden temporary directory
    assert any(name.startswith(".tmp-v2-") for name in _hidden_entries(root))
    with pytest.raises(StoreError, match=f"already running.*{first.job_id}"):
        JobRunner(root).start("embed", device="cpu")

    pid = runner._read_lock()["pid"]
    os.killpg(pid, signal.SIGKILL)
    _wait_for(lambda: not pid_alive(pid), what="the job to die")
    assert runner.lock_path.exists()  # a killed job cannot clean up after itself
    info = runner.status()
    assert info.phase == "failed" and "killed" in info.message
    assert not runner.lock_path.exists()
    assert _hidden_entries(root) == []
    assert (root / "manifest.json").read_text() == manifest
    assert Store.open(root).current_version == "v1"
    assert store.embeddings("v1").shape == (store.n_sources, 32)

    # the lock is free again: a new job starts (and is cancelled at once,
    # without waiting, as the dashboard does)
    job_env.setenv("LATENTSKY_JOB_STALL_PHASE", "embed")
    second = runner.start("embed", device="cpu", batch_size=64, num_workers=0)
    assert second.job_id != first.job_id and second.version == "v2"
    runner.cancel(wait=False)
    final = runner.wait(second.job_id, timeout=60)
    assert final.phase == "cancelled"
    assert Store.open(root).versions == ["v1"] and not runner.lock_path.exists()


@pytest.mark.slow
def test_dask_scheduler_runs_the_job(
    with_version, small_store_copy, tiny_checkpoint, job_env
):
    distributed = pytest.importorskip("dask.distributed")
    root = small_store_copy
    with_version(root, tiny_checkpoint)
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        runner = JobRunner(root)
        runner.start(
            "embed", scheduler=cluster.scheduler_address, device="cpu", num_workers=0
        )
        final = runner.wait(timeout=300)
    assert final.phase == "done", runner.log_tail()
    assert Store.open(root).current_version == "v2"
    assert not runner.lock_path.exists()
