"""Tests of explorer.commands.reembed: the --use-labels flag and its errors."""

from __future__ import annotations

import argparse
import json

import pytest

from explorer.commands import reembed
from explorer.errors import DataError
from explorer.jobs import JobRunner
from explorer.store import Store
from explorer.store.annotations import Annotations


def _parse(*argv):
    parser = argparse.ArgumentParser()
    reembed.add_arguments(parser)
    return parser.parse_args(["store", *argv])


def test_use_labels_becomes_job_options():
    kind, options = reembed._options(
        _parse("--finetune-epochs", "2", "--use-labels", "--label-weight", "0.5")
    )
    assert kind == "finetune" and options["epochs"] == 2
    assert options["use_labels"] is True and options["label_weight"] == 0.5
    kind, options = reembed._options(_parse("--finetune-epochs", "2"))
    assert "use_labels" not in options and options["label_weight"] == 1.0
    with pytest.raises(DataError, match="--use-labels need --finetune-epochs"):
        reembed._options(_parse("--use-labels"))


def test_use_labels_without_epochs_exits_2(small_store_copy, capsys):
    from explorer.cli import main

    assert main(["reembed", str(small_store_copy), "--use-labels"]) == 2
    assert "--finetune-epochs" in capsys.readouterr().err


def test_use_labels_without_marks_exits_2_and_says_how(
    small_store_copy, tiny_checkpoint, capsys
):
    from explorer.cli import main

    argv = ["reembed", str(small_store_copy), "--checkpoint", str(tiny_checkpoint)]
    code = main([*argv, "--finetune-epochs", "1", "--use-labels"])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert "no Similar-tab marks" in err and "mark results +" in err
    assert not (small_store_copy / "jobs").exists() or not any(
        (small_store_copy / "jobs").iterdir()
    )
    code = main([*argv, "--finetune-epochs", "1", "--label-weight", "-1"])
    assert code == 2 and "label_weight must be a positive" in capsys.readouterr().err


def test_the_job_spec_carries_the_pairs(small_store_copy, tiny_checkpoint):
    store = Store.open(small_store_copy)
    a, b, c = (int(i) for i in store.ids[:3])
    notes = Annotations.of_store(store)
    notes.add_similar_mark(a, b, 1)
    notes.add_similar_mark(a, c, -1)
    runner = JobRunner(small_store_copy)
    opts = {"checkpoint": str(tiny_checkpoint), "epochs": 1, "use_labels": True}
    from explorer.jobs.options import normalise_options

    opts = normalise_options(store, "finetune", opts)
    directory = small_store_copy / "jobs" / "x"
    runner._write_spec(directory, "finetune", opts, None)
    spec = json.loads((directory / "job.json").read_text())
    assert spec["label_feedback"] == {"pairs": [[a, b, 1], [a, c, -1]], "groups": {}}
    opts["use_labels"] = False
    runner._write_spec(small_store_copy / "jobs" / "y", "finetune", opts, None)
    spec = json.loads((small_store_copy / "jobs" / "y" / "job.json").read_text())
    assert spec["label_feedback"] is None
