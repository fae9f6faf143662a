"""``latentsky bench analysis`` on tiny sizes, and its recall helper."""

from __future__ import annotations

import argparse
import json

import numpy as np

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
            "--tpcf-boot",
            "2",
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
    assert results["tpcf"]["speedup"] > 1
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
