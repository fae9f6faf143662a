"""Seconds per label of the active queue at a million sources.

The workload stands in for a version's ``embeddings.npy``: a clustered 128-d
mixture randomly projected to ``dim`` dimensions, unit rows, in a
memory-mapped ``.npy``. Per label: the model update, the relevance of every
source and the top-100 queue; also an undo.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np


def _timing_workload(path: Path, n: int, dim: int, seed: int = 0) -> np.ndarray:
    """A memory-mapped clustered ``(n, dim)`` unit embedding (module docstring)."""
    from explorer.bench.analysis.data import sphere_mixture

    rng = np.random.default_rng(seed)
    projection = rng.standard_normal((128, dim)).astype(np.float32)
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(n, dim))
    step = 200_000
    for i, start in enumerate(range(0, n, step)):
        part, _ = sphere_mixture(min(step, n - start), 128, seed=seed + i)
        part = part @ projection
        out[start : start + len(part)] = part / np.linalg.norm(part, axis=1)[:, None]
    out.flush()
    del out
    return np.load(path, mmap_mode="r")


def bench_timing(
    n: int, dim: int, settings: dict[str, Any], labels: int = 20
) -> dict[str, Any]:
    """Seconds per label at ``n`` sources: update + relevance + top-100 queue."""
    from explorer.active import RelevanceModel, acquisition_order

    settings = {k: v for k, v in settings.items() if k != "explore_every"}

    with tempfile.TemporaryDirectory(prefix="latentsky-bench-active-") as tmp:
        vectors = _timing_workload(Path(tmp) / "embeddings.npy", n, dim)
        rng = np.random.default_rng(1)
        score = rng.gamma(2.0, size=n)  # stands in for map.parquet anomaly_score
        start = time.perf_counter()
        model = RelevanceModel(**settings).fit(vectors, score)
        fit_s = time.perf_counter() - start
        acquisition_order(model, 100)  # page the memory map in once
        per_label = []
        for row in rng.choice(n, labels, replace=False):
            start = time.perf_counter()
            model.label([int(row)], float(rng.random() < 0.3))
            model.relevance()
            acquisition_order(model, 100)
            per_label.append(time.perf_counter() - start)
        start = time.perf_counter()
        model.unlabel([int(next(iter(model.labels_)))])
        acquisition_order(model, 100)
        undo_s = time.perf_counter() - start
    return {
        "workload": "synthetic: 128-d 50-cluster mixture randomly projected, memmap",
        "n": n,
        "dim": dim,
        "settings": settings,
        "labels": labels,
        "fit_s": round(fit_s, 3),
        "label_s_median": round(float(np.median(per_label)), 4),
        "label_s_max": round(float(np.max(per_label)), 4),
        "undo_s_with_labels": round(undo_s, 4),
        "target_label_s": 1.0,
        "meets_target": bool(np.max(per_label) < 1.0),
    }
