"""The ingest-images benchmark on a tiny workload: it runs and records its figures."""

from __future__ import annotations

import json

import pytest

from explorer import cli


@pytest.mark.slow  # three spawned processes, each importing astropy
def test_tiny_run_writes_a_complete_record(tmp_path, capsys):
    out = tmp_path / "results"
    argv = [
        "bench",
        "ingest-images",
        "--out",
        str(out),
        "--image",
        "400",
        "--n",
        "60",
        "--size",
        "16",
        "--reproject-n",
        "10",
    ]
    assert cli.main(argv) == 0
    capsys.readouterr()
    (path,) = out.glob("ingest-images-*.json")
    record = json.loads(path.read_text())
    results = record["results"]
    assert record["environment"]["cores"] >= 1
    assert results["machine_shared"] is True
    assert len(results["load_average_before"]) == 3
    assert results["workload"] == results["workload"] | {
        "data": "synthetic",
        "image_px": [400, 400],
        "n_sources": 60,
        "cutout_px": 16,
        "bands": 3,
    }
    steps = results["steps"]
    assert steps["catalog"]["sources"] == 60
    assert 0 < steps["detect"]["sources"] <= 80
    assert steps["reproject"]["sources"] == 10
    assert all(step["seconds"] > 0 for step in steps.values())
