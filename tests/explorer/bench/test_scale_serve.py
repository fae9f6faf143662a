"""The serving stages of ``latentsky bench scale`` against a real server."""

from __future__ import annotations

from pathlib import Path

import pytest

from explorer.bench.scale_serve import measure_serving

SERVING = (
    "server_start",
    "page_fetch",
    "map_load",
    "box_resolve",
    "box_metrics",
    "hover_nearest",
)


@pytest.mark.slow
def test_serving_stages_on_a_real_server(tmp_path: Path) -> None:
    from explorer.bench.ui_store import build_store

    build_store(tmp_path / "store", 2000, 16)
    stages = measure_serving(tmp_path / "store", tmp_path, 200, browser=False)
    assert tuple(stages) == SERVING
    for name, record in stages.items():
        assert record["ok"], name
        assert record["wall_s"] >= 0
        assert record["peak_rss_mib"] > 50, name  # a Python server / this process
        assert len(record["load_before"]) == 3
    # the box of the UI benchmark: about the 200 sources asked for
    assert 150 <= stages["box_resolve"]["box_sources"] <= 250
    assert stages["server_start"]["wall_s"] > stages["page_fetch"]["wall_s"]
    assert "200 GET /" in (tmp_path / "serve.log").read_text()
