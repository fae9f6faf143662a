"""The rare_kinds and clusters sections of ``latentsky bench analysis``."""

from __future__ import annotations

import argparse
import json

import numpy as np
import pandas as pd
import pytest

from explorer.bench import analysis as bench
from explorer.bench.analysis.cluster_kinds import kind_matches, supervised_ceiling
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


def test_kind_matches_by_hand():
    truth = np.array(["a"] * 6 + ["b"] * 3 + ["r"] * 2)
    labels = np.array([0, 0, 0, 0, 1, -1, 1, 1, 1, 1, -1])
    m = kind_matches(labels, truth)
    # a: cluster 0 holds 4 of 6 a and nothing else; F1 = 8/10 vs 2/12 for 1
    assert m["a"] == {
        "n": 6,
        "cluster": 0,
        "cluster_size": 4,
        "purity": 1.0,
        "completeness": 0.667,
        "f1": 0.8,
    }
    # b: cluster 1 = {a, b, b, b, r}: purity 3/5, completeness 1
    assert (m["b"]["cluster"], m["b"]["purity"], m["b"]["completeness"]) == (
        1,
        0.6,
        1.0,
    )
    # r: one in cluster 1 (F1 2/7), one noise
    assert (m["r"]["cluster"], m["r"]["completeness"], m["r"]["f1"]) == (
        1,
        0.5,
        0.286,
    )
    only_noise = kind_matches(np.array([-1, -1]), np.array(["x", "x"]))
    assert only_noise["x"]["cluster"] is None
    assert only_noise["x"]["f1"] == 0.0


def test_supervised_ceiling_separable():
    rng = np.random.default_rng(0)
    truth = np.repeat(["a", "b", "c"], 40)
    emb = rng.normal(size=(120, 4)) + 8 * np.eye(4)[np.repeat([0, 1, 2], 40)]
    ceiling = supervised_ceiling(emb, truth)
    assert ceiling["accuracy"] == 1.0
    assert ceiling["ari"] == 1.0


def test_unknown_embedding_is_one_line(tmp_path):
    from explorer.bench.analysis.embedding import preset_embedding
    from explorer.errors import LatentskyError

    with pytest.raises(LatentskyError, match="unknown --embedding 'umap'"):
        preset_embedding(None, "umap", 0)

    class _Store:
        root = tmp_path

    with pytest.raises(LatentskyError, match="nope.pt does not exist"):
        preset_embedding(_Store(), "encoder", 0, str(tmp_path / "nope.pt"))


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
        "--second-size 32 --presets demo,second --cluster-time-n 600".split()
    )
    results = json.loads(bench.run(args).read_text())["results"]
    rare = results["rare_kinds"]
    assert rare["default"] == "family_max"
    assert rare["best_on_demo"] in rare["demo"]["scores"]
    default = "family_max (default: science = mean(if_emb, artefact), artefact)"
    for preset in ("demo", "second"):
        entry = rare[preset]["scores"][default]
        assert set(entry["recall_top5pct"]) >= {"ring", "cosmic_ray"}
        old = rare[preset]["scores"]["max_rank (old default: knn, pixel_knn, artefact)"]
        assert 0 <= old["rare_share_top1pct"] <= 1
        assert 0 <= entry["rare_share_top1pct"] <= 1
        assert rare[preset]["pixel_scan_ms_per_source"] > 0
        assert "loadavg_1_5_15" in rare["machine"]
        clusters = results["clusters"][preset]
        methods = clusters["methods"]
        assert set(methods) == {
            "hdbscan (today)",
            "hdbscan on the map",
            "leiden",
            "pipeline default",
        }
        for scores in methods.values():
            assert 0 <= scores["noise_share"] <= 1
            assert set(scores["per_kind"]) >= {"elliptical", "ring"}
        assert len(clusters["leiden_grid"]) == 12
        assert len(clusters["leiden_grid"][0]["ari_per_seed"]) == 3
        assert len(clusters["map_grid"]) == 6
        assert -1 <= clusters["supervised_ceiling"]["ari"] <= 1
    # chosen on demo, applied unchanged to second
    assert results["clusters"]["chosen"]["chosen_on"] == "demo"
    timing = results["clusters"]["timing"]
    assert timing["leiden"]["seconds"] > 0 and timing["hdbscan"]["seconds"] > 0


def test_isolation_forest_cost_small():
    from explorer.bench.analysis.anomaly import isolation_forest_cost

    cost = isolation_forest_cost(2000, 16, seed=0)
    assert (cost["n"], cost["dim"], cost["fit_rows"]) == (2000, 16, 2000)
    assert cost["seconds"] >= 0
    # seconds is rounded to 0.01 s, the projection is made before rounding
    assert cost["projected_1m_s"] == pytest.approx(cost["seconds"] * 500, abs=2.6)
    assert cost["machine_before"]["shared_machine"]
