"""Synthetic data and timing helpers shared by the analysis benchmarks."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np


def sphere_mixture(
    n: int,
    dim: int = 128,
    n_clusters: int = 50,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Clustered unit vectors: a Gaussian mixture projected on the sphere.

    Cluster weights are Dirichlet-distributed, widths vary by a factor 3.

    Returns
    -------
    (ndarray (n, dim) float32, ndarray (n,) int labels)
    """
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_clusters, dim)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    weights = rng.dirichlet(np.full(n_clusters, 2.0))
    labels = rng.choice(n_clusters, n, p=weights)
    width = rng.uniform(0.04, 0.12, n_clusters).astype(np.float32)
    x = np.empty((n, dim), dtype=np.float32)
    for start in range(0, n, 100_000):
        lab = labels[start : start + 100_000]
        noise = rng.standard_normal((len(lab), dim), dtype=np.float32)
        x[start : start + len(lab)] = centres[lab] + width[lab, None] * noise
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x, labels


def timed(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[Any, float]:
    """``fn(*args, **kwargs)`` and the seconds it took."""
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - start


def preset_store(preset: str, n: int, size: int, seed: int) -> Any:
    """A store of the synthetic survey ``preset`` (cached in the temp directory).

    Parameters
    ----------
    preset : str
        Name in :data:`explorer.ingest.synthetic.PRESETS`.
    n, size, seed : int
        Sources, cutout side in px, random seed.

    Returns
    -------
    Store
    """
    import tempfile
    from pathlib import Path

    from explorer.ingest.synthetic import BANDS, PRESETS, iter_survey
    from explorer.store import Store

    root = Path(tempfile.gettempdir()) / f"latentsky-bench-{preset}-{n}-{size}-{seed}"
    if (root / "manifest.json").is_file():
        return Store.open(root)
    with Store.build(root, list(BANDS), size) as builder:
        for cube, cat in iter_survey(
            n, size=size, seed=seed, batch=1024, settings=PRESETS[preset]
        ):
            builder.append(cube, cat)
    return builder.store


def machine_load() -> dict[str, Any]:
    """Cores and the 1/5/15-minute load averages (the machine may be shared)."""
    import os

    return {
        "cores": os.cpu_count(),
        "loadavg_1_5_15": [round(x, 2) for x in os.getloadavg()],
        "shared_machine": True,
    }
