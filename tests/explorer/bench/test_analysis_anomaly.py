"""The rare_kinds and clusters sections of ``latentsky bench analysis``."""

from __future__ import annotations

import argparse
import json

import numpy as np
import pandas as pd
import pytest

from explorer.bench import analysis as bench
from explorer.bench.analysis.clusters import cluster_scores
from explorer.bench.analysis.rare_kinds import flag_quality, per_kind


def test_per_kind_by_hand():
    labels = np.array(["a"] * 90 + ["ring"] * 5 + ["trail"] * 5)
    score = np.zeros(100)
    score[90] = 10  # one ring first
    score[95:98] = [9, 8, 7]  # three trails next
    table = per_kind(score, labels, ["ring", "trail"])
    assert table["rare_share_top1pct"] == 1.0  # top 1 = the ring
    assert table["recall_top1pct"] == {"ring": 0.2, "trail": 0.0}
    assert table["recall_top5pct"] == {"ring": 0.2, "trail": 0.6}


def test_flag_quality_by_hand():
    labels = np.array(["cosmic_ray", "cosmic_ray", "star", "star"])
    flags = pd.DataFrame(
        {
            "cosmic_ray_flag": [True, False, True, False],
            "trail_flag": [False] * 4,
            "bad_column_flag": [False] * 4,
            "saturated_flag": [False] * 4,
        }
    )
    q = flag_quality(flags, labels)["cosmic_ray_flag"]
    assert (q["precision"], q["recall"]) == (0.5, 0.5)
    assert q["flagged_by_kind"] == {"cosmic_ray": 1, "star": 1}


def test_cluster_scores_perfect_and_noise():
    truth = np.array(list("aabbcc"))
    assert cluster_scores(np.array([0, 0, 1, 1, 2, 2]), truth)["ari"] == 1.0
    s = cluster_scores(np.array([0, 0, 1, 1, -1, -1]), truth)
    assert s["noise_share"] == pytest.approx(0.333, abs=1e-3)
    assert s["ari_clustered_only"] == 1.0


@pytest.mark.slow
def test_bench_rare_kinds_and_clusters_small(tmp_path):
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default=str(tmp_path))
    bench.add_arguments(parser)
    args = parser.parse_args(
        "--sections rare_kinds,clusters --demo-n 200 --demo-size 32 "
        "--second-size 32 --presets demo,second".split()
    )
    results = json.loads(bench.run(args).read_text())["results"]
    rare = results["rare_kinds"]
    assert rare["default"] == "max_rank"
    for preset in ("demo", "second"):
        entry = rare[preset]["scores"]["max_rank (default: knn, pixel_knn, artefact)"]
        assert set(entry["recall_top5pct"]) >= {"ring", "cosmic_ray"}
        assert 0 <= entry["rare_share_top1pct"] <= 1
        assert rare[preset]["pixel_scan_ms_per_source"] > 0
        assert "loadavg_1_5_15" in rare["machine"]
        clusters = results["clusters"][preset]
        assert 0 <= clusters["pipeline_default"]["noise_share"] <= 1
        assert len(clusters["grid"]) == 12
