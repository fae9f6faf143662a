"""Growth exponents and the Markdown table of ``latentsky bench scale``."""

from __future__ import annotations

import math

import pytest

from explorer.bench.scale_fit import (
    exponents,
    extrapolate,
    growth_exponent,
    markdown_table,
)


def test_two_sizes_give_the_slope_between_them() -> None:
    # 10x the sources, 10x the time: linear
    assert growth_exponent([10_000, 100_000], [12.0, 120.0]) == 1.0
    # 10x the sources, 100x the time: quadratic
    assert growth_exponent([10_000, 100_000], [0.5, 50.0]) == 2.0
    # time constant: exponent 0
    assert growth_exponent([10_000, 100_000], [3.0, 3.0]) == 0.0


def test_least_squares_slope_by_hand() -> None:
    # log10 N = 0, 1, 2 and log10 t = 0, 1, 3: mean (1, 4/3);
    # sum dx*dy = (-1)(-4/3) + 0 + (1)(5/3) = 3; sum dx^2 = 2 -> slope 1.5
    assert growth_exponent([1, 10, 100], [1.0, 10.0, 1000.0]) == 1.5


def test_power_law_recovered() -> None:
    ns = [10_000, 100_000, 1_000_000]
    values = [2e-6 * n**1.3 for n in ns]
    assert growth_exponent(ns, values) == 1.3


def test_unusable_values_are_skipped() -> None:
    # None (not measured) and 0 (below the clock) are left out of the fit
    assert growth_exponent([1, 10, 100], [None, 5.0, 50.0]) == 1.0
    assert growth_exponent([1, 10, 100], [0.0, 5.0, 50.0]) == 1.0
    assert growth_exponent([1, 10], [None, 5.0]) is None
    assert growth_exponent([10, 10], [1.0, 2.0]) is None


def test_bad_input_is_named() -> None:
    with pytest.raises(ValueError, match="2 sizes but 1 values"):
        growth_exponent([1, 2], [1.0])
    with pytest.raises(ValueError, match="sizes must be positive"):
        growth_exponent([0, 2], [1.0, 2.0])


def test_extrapolate() -> None:
    # 100 s at 100k, exponent 1.2: 100 * 10**1.2 = 1584.9 s at 1M
    assert math.isclose(
        extrapolate(100_000, 100.0, 1.2, 1_000_000), 1584.893, rel_tol=1e-6
    )


def _runs() -> list[dict]:
    return [
        {"n": 1000, "stages": {"ingest": {"wall_s": 2.0, "peak_rss_mib": 100.0}}},
        {
            "n": 10_000,
            "stages": {
                "ingest": {"wall_s": 20.0, "peak_rss_mib": 100.0},
                "map": {"wall_s": 7.0, "peak_rss_mib": 300.0},
            },
        },
    ]


def test_exponents_per_stage() -> None:
    fits = exponents(_runs())
    assert fits["ingest"] == {"wall_s": 1.0, "peak_rss_mib": 0.0}
    # measured at one size only: no exponent
    assert fits["map"] == {"wall_s": None, "peak_rss_mib": None}


def test_markdown_table_rows() -> None:
    runs = _runs()
    results = {
        "runs": runs,
        "exponents": exponents(runs),
        "ns_run": [1000, 10_000],
        "date": "2026-12-01",
        "workload": "tiny",
        "machine": "2 cores",
    }
    text = markdown_table(results)
    lines = text.splitlines()
    assert "| stage | N=1,000 s | N=1,000 MiB | N=10,000 s | N=10,000 MiB |" in text
    assert "| ingest | 2 | 100 | 20 | 100 | 1 | 0 |" in lines
    assert "| map | – | – | 7 | 300 | – | – |" in lines


def test_markdown_marks_a_partial_size() -> None:
    runs = _runs()
    runs[1]["completed"] = False  # stopped after its first stages
    results = {
        "runs": runs,
        "exponents": exponents(runs[:1]),  # fitted on complete sizes only
        "ns_run": [1000],
        "date": "2026-12-01",
        "workload": "tiny",
        "machine": "2 cores",
    }
    text = markdown_table(results)
    assert "| N=10,000 (partial) s | N=10,000 (partial) MiB |" in text
    assert "| map | – | – | 7 | 300 | – | – |" in text.splitlines()
