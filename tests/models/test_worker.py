"""Tests of models.worker: the torch side of a job (progress, cancel, errors)."""

from __future__ import annotations

import json

import pytest

from explorer.jobs.protocol import EXIT_FAILED, JobCancelled, read_json
from explorer.store.layout import PROGRESS
from models.worker import Reporter, main, run_worker


def test_reporter_writes_percent_and_epoch_messages(tmp_path):
    reporter = Reporter(tmp_path)
    reporter({"phase": "train", "fraction": 0.25, "epoch": 1, "epochs": 3, "loss": 0.5})
    progress = read_json(tmp_path / PROGRESS)
    assert progress["phase"] == "train" and progress["percent"] == 25.0
    assert progress["message"] == "epoch 1/3, loss 0.5000"
    reporter.request_cancel()
    with pytest.raises(JobCancelled):
        reporter({"phase": "train", "fraction": 0.5})


def test_a_failure_is_stored_for_the_orchestration(tmp_path):
    (tmp_path / "job.json").write_text(
        json.dumps(
            {
                "job_id": "x",
                "kind": "embed",
                "store": str(tmp_path / "no-store"),
                "options": {"version": "v1", "checkpoint": "c.pt"},
            }
        )
    )
    assert run_worker(tmp_path, tmp_path / "staging") == EXIT_FAILED
    progress = read_json(tmp_path / PROGRESS)
    assert "no-store" in progress["error"] and "phase" not in progress


def test_usage_without_arguments(capsys):
    assert main([]) == 2
    assert "usage" in capsys.readouterr().err


@pytest.mark.slow
def test_finetune_with_labels_records_the_pairs(small_store_copy, tiny_checkpoint):
    from explorer.store import Store

    store = Store.open(small_store_copy)
    ids = [int(i) for i in store.ids[:6]]
    job, staging = small_store_copy / "jobs" / "j", small_store_copy / "staging"
    job.mkdir(parents=True)
    staging.mkdir()
    spec = {
        "job_id": "j",
        "kind": "finetune",
        "store": str(small_store_copy),
        "options": {
            "version": "v2",
            "checkpoint": str(tiny_checkpoint),
            "epochs": 1,
            "device": "cpu",
            "num_workers": 0,
            "batch_size": 64,
            "use_labels": True,
            "label_weight": 2.0,
        },
        "label_feedback": {
            "pairs": [[ids[0], ids[1], 1], [ids[0], ids[2], -1], [ids[3], ids[4], -1]],
            "groups": {"artefact": ids[4:6]},
        },
    }
    (job / "job.json").write_text(json.dumps(spec))
    assert run_worker(job, staging) == 0, read_json(job / PROGRESS)
    config = read_json(staging / "config.json")
    assert config["checkpoint"] == str(small_store_copy / "checkpoints" / "v2.pt")
    assert config["finetune"] == {
        "from_checkpoint": str(tiny_checkpoint),
        "epochs": 1,
        "label_weight": 2.0,
        "positive_pairs": 1,
        "negative_pairs": 2,
        "label_groups": {"artefact": 2},
    }
