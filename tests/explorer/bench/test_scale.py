"""``latentsky bench scale`` end to end on tiny stores (the first two stages)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from explorer.bench.scale_fit import growth_exponent
from explorer.cli import main

STAGE_KEYS = {"wall_s", "peak_rss_mib", "maxrss_mib", "load_before", "load_after"}


@pytest.mark.slow
def test_tiny_run_writes_schema(tmp_path: Path) -> None:
    out = tmp_path / "results"
    argv = ["bench", "scale", "--n", "300,600", "--size", "16", "--until", "ingest"]
    status = main([*argv, "--out", str(out), "--work", str(tmp_path / "work")])
    assert status == 0
    [path] = out.glob("scale-*.json")
    record = json.loads(path.read_text())
    assert record["benchmark"] == "scale"
    assert {"date", "cores", "versions", "device"} <= set(record["environment"])
    results = record["results"]
    assert results["ns_run"] == results["ns_requested"] == [300, 600]
    assert results["cutout_size"] == 16
    assert results["machine_shared"] is True
    assert [run["n"] for run in results["runs"]] == [300, 600]
    for run in results["runs"]:
        assert run["completed"] is True
        assert list(run["stages"]) == ["generate", "ingest"]
        for stage in run["stages"].values():
            assert STAGE_KEYS <= set(stage)
            assert stage["ok"] is True
            assert stage["wall_s"] > 0
            assert stage["peak_rss_mib"] > 10
    for name in ("generate", "ingest"):
        walls = [run["stages"][name]["wall_s"] for run in results["runs"]]
        mibs = [run["stages"][name]["peak_rss_mib"] for run in results["runs"]]
        fits = results["exponents"][name]
        assert fits["wall_s"] == growth_exponent([300, 600], walls)
        assert fits["peak_rss_mib"] == growth_exponent([300, 600], mibs)
    # the survey file is removed after the ingest, the stores after each run
    assert not list((tmp_path / "work").rglob("survey.fits"))
    assert not list((tmp_path / "work").rglob("store"))
    table = path.with_suffix(".md").read_text()
    assert "| stage | N=300 s | N=300 MiB | N=600 s | N=600 MiB |" in table
    assert sum(line.startswith("| generate |") for line in table.splitlines()) == 1


def test_bad_sizes_are_a_user_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "scale", "--n", "10k,20k"]) == 2
    assert "--n expects comma-separated source counts, got '10k,20k'" in (
        capsys.readouterr().err
    )
    assert main(["bench", "scale", "--n", "10"]) == 2
    assert "at least 50 sources" in capsys.readouterr().err
