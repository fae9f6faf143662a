"""Tests of explorer.bench.active: the GP baseline and the quick record."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pytest

from explorer.active.simulate import found, truth_tags
from explorer.bench import active as bench_active
from explorer.bench import active_baselines


def two_clusters() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """10 interesting sources near e0, 90 boring near e1 (as in test_simulate)."""
    rng = np.random.default_rng(0)
    x = np.zeros((100, 20), dtype=np.float32)
    x[:10, 0] = 1.0
    x[10:, 1] = 1.0
    x += 0.05 * rng.standard_normal(x.shape).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    kinds = np.array(["ring"] * 10 + ["disc"] * 85 + ["cosmic_ray"] * 5)
    score = np.linspace(1.0, 0.0, 100)
    score[10:30] += 2.0
    return x, score, kinds


@pytest.mark.slow
def test_gp_baseline_follows_a_positive():
    x, score, kinds = two_clusters()
    tags = truth_tags(kinds, "ring", ["cosmic_ray"])
    score = score.copy()
    score[0] += 10  # the GP's initial views (top 5 by score) hold one ring
    views = active_baselines.gp_views(x, score, tags, 15)
    assert views[0] == 0
    assert len(set(views.tolist())) == 15
    # after the init, the upper confidence bound goes to the ring's cluster
    assert found(views, tags) >= 8


def test_science_mode_drops_flagged_artefacts():
    data = {
        "anomaly_score": np.array([5.0, 4.0, 3.0, 2.0]),
        "artefact_score": np.array([0.9, 0.1, 0.5, 0.0]),
    }
    assert active_baselines.science_views(data, 2).tolist() == [1, 3]


@pytest.mark.slow
def test_quick_run_writes_the_record(tmp_path):
    parser = argparse.ArgumentParser()
    bench_active.add_arguments(parser)
    args = parser.parse_args(["--quick", "--timing-n", "20000"])
    args.out = str(tmp_path)
    path = bench_active.run(args)
    record = json.loads(Path(path).read_text())
    assert record["benchmark"] == "active"
    results = record["results"]
    assert results["workload"]["quick"] is True
    assert results["machine"]["shared_machine"] is True
    for preset in ("demo", "second"):
        summary = results[preset]
        for runs in summary["runs"].values():
            for counts in runs.values():
                for method in ("density", "density_science", "active", "gp"):
                    assert 0 <= counts[method] <= min(counts["n_target"], 20)
        assert set(summary["mean"]) == {"density", "density_science", "active", "gp"}
    assert "ratio_vs_density" in results
    timing = results["timing"]
    assert timing["n"] == 20000 and timing["dim"] == 64
    assert timing["label_s_max"] > 0
