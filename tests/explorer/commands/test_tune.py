"""Tests of ``latentsky tune`` and ``latentsky train --config``."""

from __future__ import annotations

import json

import pytest

from explorer.cli import main


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["--out", "b.json", "--trials", "0"], "--trials"),
        (["--out", "b.json", "--n-eval", "1"], "--n-eval"),
        (["--out", "best.txt"], "expected a .json"),
        (["--out", "no/such/dir/best.json"], "does not exist"),
    ],
)
def test_bad_arguments_are_one_line_exit_2(small_store, tmp_path, capsys, argv, needle):
    argv = [str(tmp_path / a) if a.endswith((".json", ".txt")) else a for a in argv]
    assert main(["tune", str(small_store), *argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert needle in err[-1] and "Traceback" not in "\n".join(err)


def test_missing_store_is_one_line(tmp_path, capsys):
    code = main(["tune", str(tmp_path / "nope"), "--out", str(tmp_path / "b.json")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1


def test_train_config_file_errors_are_one_line(small_store, tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    unknown = tmp_path / "unknown.json"
    unknown.write_text(json.dumps({"settings": {"wdith": 3}}))
    for path, needle in ((bad, "not a JSON"), (unknown, "wdith"), (tmp_path, "JSON")):
        code = main(
            [
                "train",
                str(small_store),
                "--out",
                str(tmp_path / "x.pt"),
                "--config",
                str(path),
            ]
        )
        err = capsys.readouterr().err.strip().splitlines()
        assert code == 2 and len(err) == 1 and needle in err[0], err


@pytest.mark.slow
def test_tune_writes_settings_that_train_reads(small_store, tmp_path, capsys):
    best = tmp_path / "best.json"
    argv = ["tune", str(small_store), "--out", str(best), "--trials", "2"]
    argv += ["--epochs", "1", "--n-train", "128", "--n-eval", "64", "--threads", "1"]
    assert main([*argv, "--device", "cpu"]) == 0
    printed = capsys.readouterr().out
    assert "objective" in printed and "best trial" in printed
    record = json.loads(best.read_text())
    assert len(record["trials"]) == 2
    assert 0 <= record["objective"] <= 1
    assert record["objective"] == max(t["objective"] for t in record["trials"])
    out = tmp_path / "tuned.pt"
    train = ["train", str(small_store), "--out", str(out), "--config", str(best)]
    train += ["--epochs", "1", "--crop", "16", "--width", "4", "--device", "cpu"]
    assert main(train) == 0
    from models.checkpoint import load_checkpoint

    config = load_checkpoint(out)["config"]
    assert config["lr"] == pytest.approx(record["settings"]["lr"])
    assert config["temperature"] == pytest.approx(record["settings"]["temperature"])
    assert config["width"] == 4  # a flag overrides the file
