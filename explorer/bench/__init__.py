"""Benchmarks behind ``latentsky bench``; each writes one JSON result file.

Every result records the date, the machine (cores, memory, device) and the
versions of the libraries measured, so figures from different machines are
never compared blindly.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import importlib.metadata
import os
import platform
import shutil
import tempfile
from collections.abc import Iterator
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


@contextlib.contextmanager
def store_copy(store: str | os.PathLike[str] | None, suite: str) -> Iterator[Path]:
    """A private copy of ``store`` for a benchmark that writes to it.

    Parameters
    ----------
    store : path-like or None
        The analysed store given as ``--store``.
    suite : str
        The benchmark's name, for the error and the temporary folder.

    Yields
    ------
    pathlib.Path
        The copy (removed afterwards).

    Raises
    ------
    LatentskyError
        If no store was given.
    """
    from explorer.errors import LatentskyError

    if not store:
        msg = f"latentsky bench {suite} needs --store STORE (an analysed store)"
        raise LatentskyError(msg)
    temp = Path(tempfile.mkdtemp(prefix=f"latentsky-bench-{suite}-"))
    try:
        root = temp / "store"
        shutil.copytree(store, root)
        yield root
    finally:
        shutil.rmtree(temp, ignore_errors=True)
