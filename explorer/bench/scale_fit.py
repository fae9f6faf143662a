"""Growth exponents of the scale benchmark's stages, and its Markdown table.

A stage whose cost grows as ``c * N**a`` has a straight log-log line of slope
``a``; :func:`growth_exponent` fits that slope by least squares over the sizes
run (with two sizes it is the slope between them). A fixed start-up cost (a
fresh Python process importing its libraries) bends the line flat at small
``N``, so exponents from small sizes understate the asymptotic growth.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def growth_exponent(
    ns: Sequence[float], values: Sequence[float | None]
) -> float | None:
    """Least-squares slope of ``log(value)`` against ``log(N)``.

    Parameters
    ----------
    ns : sequence of float
        Problem sizes ``N`` (> 0).
    values : sequence of float or None
        The measured cost at each size (seconds, MiB); ``None`` or values
        ``<= 0`` (not measured, or below the clock's resolution) are skipped.

    Returns
    -------
    float or None
        The exponent ``a`` of ``value ~ N**a`` (rounded to 3 decimals), or None
        when fewer than two distinct sizes have a usable value.

    Raises
    ------
    ValueError
        If ``ns`` and ``values`` differ in length or a size is not positive.
    """
    if len(ns) != len(values):
        msg = f"{len(ns)} sizes but {len(values)} values"
        raise ValueError(msg)
    if any(n <= 0 for n in ns):
        msg = f"sizes must be positive, got {list(ns)}"
        raise ValueError(msg)
    pairs = [(n, v) for n, v in zip(ns, values, strict=True) if v is not None and v > 0]
    if len({n for n, _ in pairs}) < 2:
        return None
    log_n = np.log([n for n, _ in pairs])
    log_v = np.log([v for _, v in pairs])
    slope = np.polyfit(log_n, log_v, 1)[0]
    return round(float(slope), 3) + 0.0  # no "-0.0" for a flat line


def extrapolate(n: float, value: float, exponent: float, to_n: float) -> float:
    """``value * (to_n / n) ** exponent``: a measured cost carried to ``to_n``."""
    return value * (to_n / n) ** exponent


def stage_series(runs: list[dict[str, Any]], key: str) -> dict[str, list]:
    """``{stage: [runs' key or None]}`` over every stage any run has."""
    names: list[str] = []
    for run in runs:
        names += [name for name in run["stages"] if name not in names]
    return {
        name: [run["stages"].get(name, {}).get(key) for run in runs] for name in names
    }


def exponents(runs: list[dict[str, Any]]) -> dict[str, dict[str, float | None]]:
    """Growth exponent of each stage's wall time and peak RSS over ``runs``.

    Parameters
    ----------
    runs : list of dict
        One per size: ``{"n": N, "stages": {name: {"wall_s", "peak_rss_mib"}}}``.

    Returns
    -------
    dict
        ``{stage: {"wall_s": a, "peak_rss_mib": b}}`` (None where not fitted).
    """
    ns = [run["n"] for run in runs]
    walls = stage_series(runs, "wall_s")
    rss = stage_series(runs, "peak_rss_mib")
    return {
        name: {
            "wall_s": growth_exponent(ns, walls[name]),
            "peak_rss_mib": growth_exponent(ns, rss[name]),
        }
        for name in walls
    }


def _cell(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:,.3g}" if abs(value) < 100 else f"{value:,.0f}"
    return str(value)


def markdown_table(results: dict[str, Any]) -> str:
    """The benchmark as Markdown: one row per stage, time and RSS per size.

    Parameters
    ----------
    results : dict
        The ``results`` of the benchmark's JSON record (``runs``,
        ``exponents``, ``ns_run``, ``workload``, ``environment``...).

    Returns
    -------
    str
        A title, the workload, and a table whose columns are each size's
        wall time (s) and peak RSS (MiB), then the two exponents.
    """
    runs, fits = results["runs"], results["exponents"]
    head = ["stage"]
    for run in runs:
        # a size still running, or stopped by a failed stage, says so
        mark = "" if run.get("completed", True) else " (partial)"
        head += [f"N={run['n']:,}{mark} s", f"N={run['n']:,}{mark} MiB"]
    head += ["exp. time", "exp. RSS"]
    lines = [
        f"# latentsky bench scale — {results['date']}",
        "",
        results["workload"],
        "",
        f"Sizes run: {', '.join(f'{n:,}' for n in results['ns_run'])}. "
        f"Machine: {results['machine']}.",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
    ]
    walls = stage_series(runs, "wall_s")
    rss = stage_series(runs, "peak_rss_mib")
    for name in walls:
        cells = [name]
        for wall, mib in zip(walls[name], rss[name], strict=True):
            cells += [_cell(wall), _cell(mib)]
        fit = fits.get(name, {})  # none yet while the first size runs
        cells += [_cell(fit.get("wall_s")), _cell(fit.get("peak_rss_mib"))]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "Load average (1 min) per stage is in the JSON record.", ""]
    return "\n".join(lines)
