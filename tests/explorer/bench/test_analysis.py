"""``latentsky bench analysis`` on tiny sizes, and its recall helper."""

from __future__ import annotations

import argparse
import json

import numpy as np
import pytest

from explorer.analysis.neighbors import normalise
from explorer.bench import analysis as bench
from explorer.bench.analysis.anomaly import graph_recall
from explorer.bench.analysis.data import sphere_mixture


def test_bench_analysis_small(tmp_path):
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default=str(tmp_path))
    bench.add_arguments(parser)
    args = parser.parse_args(
        [
            "--sections",
            "tpcf,similar,metrics",
            "--dim",
            "16",
            "--tpcf-n",
            "1500",
            "--tpcf-draws",
            "2",
            "--tpcf-gauss-draws",
            "20",
            "--similar-n",
            "3000",
            "--queries",
            "5",
            "--metrics-n",
            "3000",
        ]
    )
    path = bench.run(args)
    results = json.loads(path.read_text())["results"]
    assert results["similar"]["recall_at_100"] == 1.0  # flat index: exact
    tpcf = results["tpcf"]
    assert tpcf["speedup"] > 1
    assert tpcf["reference"]["n_random"] == 5 * 1500
    assert set(tpcf["unbiasedness_gaussian"]) == {"10", "20", "50"}
    sigmas = tpcf["sigma_options"]
    assert sigmas["bootstrap"]["sigma"] > sigmas["poisson"]["sigma"]
    assert set(results["metrics"]["tpcf"]) == {"poisson", "bootstrap", "jackknife"}
    assert np.isfinite(results["metrics"]["davies_bouldin"])
    x, labels = sphere_mixture(500, 8, n_clusters=4)
    np.testing.assert_allclose(np.linalg.norm(x, axis=1), 1, rtol=1e-5)
    assert set(labels) <= set(range(4))


def test_bench_graph_recall_counts_exact_neighbours():
    x = normalise(np.random.default_rng(3).normal(size=(200, 6)))
    sims = x @ x.T
    np.fill_diagonal(sims, -np.inf)
    order = np.argsort(-sims, axis=1)
    assert graph_recall(x, order[:, :4], 50) == 1.0
    # Neighbours 3-6 instead of 1-4: two of the exact four in every row.
    assert graph_recall(x, order[:, 2:6], 50) == 0.5


@pytest.mark.slow
def test_bench_map_methods_side_by_side(tmp_path):
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default=str(tmp_path))
    bench.add_arguments(parser)
    argv = ["--sections", "map", "--dim", "16", "--map-n", "800"]
    args = parser.parse_args([*argv, "--map-methods", "pca,tsne"])
    results = json.loads(bench.run(args).read_text())["results"]["map"]
    assert set(results["methods"]) == {"pca", "tsne"}
    for entry in results["methods"].values():
        trust = entry["trustworthiness"]
        assert trust["all_points"] and trust["n"] == 800
        assert 0.5 < trust["trustworthiness"] <= 1.0
    assert results["methods"]["tsne"]["record"]["seed"] is None
    assert "plain_umap" not in results  # the UMAP baseline comes with umap
