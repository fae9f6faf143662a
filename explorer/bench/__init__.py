"""Benchmarks behind ``latentsky bench``; each writes one JSON result file.

Every result records the date, the machine (cores, memory, device) and the
versions of the libraries measured, so figures from different machines are
never compared blindly.
"""

from __future__ import annotations

import datetime as _dt
import importlib.metadata
import os
import platform
from pathlib import Path
from typing import Any

from explorer.store import atomic

_PACKAGES = (
    "numpy",
    "torch",
    "faiss-cpu",
    "umap-learn",
    "scikit-learn",
    "datashader",
    "holoviews",
    "panel",
    "bokeh",
    "zarr",
    "pandas",
)


def environment(device: str = "cpu") -> dict[str, Any]:
    """Date, machine and library versions for a benchmark record."""
    versions = {}
    for name in _PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    try:
        mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError):
        mem_gib = None
    return {
        "date": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "cores": os.cpu_count(),
        "memory_gib": round(mem_gib, 1) if mem_gib else None,
        "machine": platform.machine(),
        "python": platform.python_version(),
        "device": device,
        "versions": versions,
    }


def write_result(
    name: str,
    results: dict[str, Any],
    out_dir: str | os.PathLike[str],
    device: str = "cpu",
) -> Path:
    """Write ``results`` with the environment to ``out_dir/<name>-<date>.json``."""
    env = environment(device)
    path = Path(out_dir) / f"{name}-{env['date'][:10]}.json"
    atomic.write_json(path, {"benchmark": name, "environment": env, "results": results})
    return path
