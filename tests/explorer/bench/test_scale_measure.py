"""Stage measurements of ``latentsky bench scale``: RSS sampling, marks, stages."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from explorer.bench.scale_measure import (
    MIB,
    RssSampler,
    read_marks,
    run_stage,
    split_steps,
    tree_rss,
)
from explorer.bench.scale_stage import mark

#: a child that holds 300 MiB of touched memory for a while
HOLD = "b = bytearray(300 * 2**20); import time; time.sleep(4)"


def test_tree_rss_counts_descendants() -> None:
    me = psutil.Process()
    alone = tree_rss([me])
    child = subprocess.Popen([sys.executable, "-c", HOLD])
    try:
        deadline = time.time() + 10
        while tree_rss([me]) - alone < 250 * MIB and time.time() < deadline:
            time.sleep(0.1)
        assert tree_rss([me]) - alone >= 250 * MIB
        assert tree_rss([psutil.Process(child.pid)]) >= 250 * MIB
    finally:
        child.kill()
        child.wait()


def test_sampler_peak_and_window() -> None:
    sampler = RssSampler(lambda: [])
    sampler.samples = [(1.0, 10 * MIB), (2.0, 50 * MIB), (3.0, 20 * MIB)]
    assert sampler.peak_mib() == 50.0
    assert sampler.peak_mib(2.5, 3.5) == 20.0
    assert sampler.peak_mib(5.0, 6.0) is None


def test_split_steps_between_marks(tmp_path: Path) -> None:
    path = tmp_path / "a.marks"
    path.write_text("100.0 start\n102.5 index\n110.0 map\n")
    marks = read_marks(path)
    assert marks == [(100.0, "start"), (102.5, "index"), (110.0, "map")]
    sampler = RssSampler(lambda: [])
    sampler.samples = [(101.0, 30 * MIB), (104.0, 80 * MIB), (109.0, 60 * MIB)]
    assert split_steps(marks, sampler) == {
        "index": {"wall_s": 2.5, "peak_rss_mib": 30.0},
        "map": {"wall_s": 7.5, "peak_rss_mib": 80.0},
    }
    mark(path, "consistency")
    assert read_marks(path)[-1][1] == "consistency"


def test_failed_stage_names_the_error(tmp_path: Path) -> None:
    record = run_stage("info", ["info", str(tmp_path / "nowhere")], tmp_path)
    assert record["ok"] is False
    assert record["error"].startswith("exit 2: latentsky info: error:")
    assert "nowhere" in record["error"]
    assert record["wall_s"] > 0
    assert record["peak_rss_mib"] > 10  # a Python process was sampled
    assert len(record["load_before"]) == len(record["load_after"]) == 3
    assert record["steps"] == {}


@pytest.mark.slow
def test_analyse_stage_is_split_by_step(tmp_path: Path) -> None:
    """The real ``latentsky analyse``, marked step by step."""
    import json

    from explorer.analysis.pipeline import STEPS
    from explorer.bench.ui_store import build_store

    build_store(tmp_path / "store", 300, 16)
    command = ["analyse", str(tmp_path / "store"), "--no-progress", "--map", "pca"]
    record = run_stage("analyse", command, tmp_path)
    assert record["ok"], record.get("error")
    assert list(record["steps"]) == list(STEPS)
    info = json.loads((tmp_path / "store/versions/bench/analysis.json").read_text())
    for step, figures in record["steps"].items():
        # the marks cut where the pipeline's own timer does (plus its progress
        # bar's update and the mark's own write, outside that timer)
        assert figures["wall_s"] == pytest.approx(info["timings_s"][step], abs=0.5)
    assert sum(f["wall_s"] for f in record["steps"].values()) < record["wall_s"]
