"""The render-only UI bench: its zoom sequence by hand, its file name, and a
small run whose index answers equal the brute-force scan."""

from __future__ import annotations

import argparse
import json

import pytest

from explorer.bench.ui import add_arguments, run, size_label
from explorer.bench.ui_render import WHEEL_FACTOR, zoom_views


def test_zoom_views_step_towards_the_cursor_and_back():
    views = zoom_views(((0.0, 10.0), (0.0, 20.0)), (5.0, 0.0), 2)
    assert len(views) == 5 and views[0] == views[-1] == ((0.0, 10.0), (0.0, 20.0))
    f = WHEEL_FACTOR**2
    (x0, x1), (y0, y1) = views[2]
    assert (x0, x1) == (pytest.approx(5 - 5 * f), pytest.approx(5 + 5 * f))
    assert (y0, y1) == (0.0, pytest.approx(20 * f))  # the cursor stays put
    assert views[1] == views[3]


def test_size_labels():
    assert [size_label(n) for n in (10_000_000, 1_000_000, 250_000, 1234)] == [
        "10m",
        "1m",
        "250k",
        "1234",
    ]


@pytest.mark.slow
def test_a_small_render_only_run_writes_its_record(tmp_path):
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(
        ["--render-only", "--n", "20000", "--wheels", "2", "--box", "2000"]
    )
    args.out = tmp_path
    path = run(args)
    assert path.name.startswith("ui-20k-")
    record = json.loads(path.read_text())
    results = record["results"]
    assert results["box"]["index_equals_brute_force"] is True
    assert abs(results["box"]["box_10pc"]["sources"] - 2000) < 200
    assert set(results["zoom"]) == {"count", "anomaly_score", "cluster"}
    assert results["zoom"]["count"]["renders"] == 5
    assert results["top_anomaly_glyphs"]["k"] == 200
    assert len(results["loadavg_start"]) == 3 and results["machine_shared"]
    assert record["environment"]["device"].endswith("shared")
