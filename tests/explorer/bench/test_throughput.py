"""Tests of explorer.bench.throughput: a real (tiny) training and embedding run."""

from __future__ import annotations

import argparse
import json

import pytest

from explorer.bench import throughput


@pytest.mark.slow
def test_tiny_run_records_rates_config_and_load(tmp_path):
    parser = argparse.ArgumentParser()
    throughput.add_arguments(parser)
    args = parser.parse_args(
        ["--n", "96", "--epochs", "2", "--batch-sizes", "32,64", "--device", "cpu"]
    )
    args.out = tmp_path
    record = json.loads(throughput.run(args).read_text())
    assert record["environment"]["device"] == "cpu"
    runs = record["results"]["runs"]
    assert [r["config"]["batch_size"] for r in runs] == [32, 64]
    for r in runs:
        assert r["device"] == "cpu" and r["precision"] == "fp32"
        assert len(r["train_images_per_s_per_epoch"]) == 2
        # the median leaves out the first (warm-up) epoch
        assert r["train_images_per_s"] == r["train_images_per_s_per_epoch"][1]
        assert r["embed_images_per_s"] > 0 and r["embedding_dim"] > 0
        assert len(r["loadavg_before"]) == 3
    target = record["results"]["cpu_target"]
    assert target["best"] == max(r["train_images_per_s"] for r in runs)
    assert target["met"] == (target["best"] >= 300)


def test_bad_batch_sizes_are_refused_by_argparse():
    parser = argparse.ArgumentParser()
    throughput.add_arguments(parser)
    with pytest.raises(SystemExit):
        parser.parse_args(["--batch-sizes", "0,64"])
