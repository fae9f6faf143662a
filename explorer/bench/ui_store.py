"""The UI benchmark's store: many sources, a synthetic map, no training.

UMAP of a million points is the analysis benchmark's job, not the UI's: the
cutouts are a small synthetic set repeated, the map a mixture of Gaussian
blobs and the embeddings random unit vectors tied to each source's blob.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from explorer.store import Store, layout

#: distinct cutouts, repeated over the store's rows
BASE_CUTOUTS = 256
#: Gaussian blobs of the synthetic map
N_BLOBS = 24
#: dimension of the synthetic embeddings
EMBEDDING_DIM = 16
#: sources appended per call to the store builder
CHUNK = 16_384
#: the demo survey's smallest cutout side in pixels
MIN_SURVEY_SIZE = 16
VERSION = "bench"


def _base_cutouts(size: int, seed: int) -> tuple[np.ndarray, pd.DataFrame]:
    """``BASE_CUTOUTS`` demo-survey cutouts ``(256, 3, size, size)`` float32."""
    from explorer.ingest.synthetic import make_cutouts

    base, catalog = make_cutouts(
        BASE_CUTOUTS, size=max(size, MIN_SURVEY_SIZE), seed=seed
    )
    if size < MIN_SURVEY_SIZE:  # bin the smallest survey cutouts down
        factor = MIN_SURVEY_SIZE // size
        base = (
            base[..., : size * factor, : size * factor]
            .reshape(len(base), base.shape[1], size, factor, size, factor)
            .mean(axis=(3, 5))
        )
    return base, catalog


def _append_sources(
    builder, n: int, base: np.ndarray, base_catalog: pd.DataFrame, rng
) -> None:
    """Append ``n`` sources (ids 1..n, uniform on the sky) in chunks."""
    for start in range(0, n, CHUNK):
        m = min(CHUNK, n - start)
        rows = np.arange(start, start + m) % len(base)
        catalog = pd.DataFrame(
            {
                "id": np.arange(start, start + m, dtype=np.int64) + 1,
                "ra": rng.uniform(0, 360, m),
                "dec": np.degrees(np.arcsin(rng.uniform(-1, 1, m))),
                "mag_r": base_catalog["mag_r"].to_numpy()[rows],
            }
        )
        builder.append(base[rows], catalog)


def synthetic_points(
    n: int, centres: np.ndarray, widths: np.ndarray, rng
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Blob memberships, positions and anomaly scores of ``n`` map points.

    Parameters
    ----------
    n : int
        Number of points.
    centres, widths : ndarray
        ``(B, 2)`` blob centres and ``(B,)`` blob widths, in map units.
    rng : numpy.random.Generator
        Source of the memberships and positions.

    Returns
    -------
    blob : ndarray
        ``(n,)`` int64 blob of each point.
    xy : ndarray
        ``(n, 2)`` float64 positions: the centre plus a Gaussian of the width.
    score : ndarray
        ``(n,)`` float64 distance to the centre in blob widths (the anomaly
        score: the outskirts of each blob are its anomalies).
    """
    blob = rng.integers(0, len(centres), n)
    xy = centres[blob] + rng.normal(size=(n, 2)) * widths[blob, None]
    score = np.hypot(*(xy - centres[blob]).T) / widths[blob]
    return blob, xy, score


def blob_layout(rng) -> tuple[np.ndarray, np.ndarray]:
    """``(centres (24, 2), widths (24,))`` of the bench map's blobs."""
    return rng.uniform(-10, 10, (N_BLOBS, 2)), rng.uniform(0.3, 1.2, N_BLOBS)


def synthetic_map(
    ids: np.ndarray, centres: np.ndarray, widths: np.ndarray, rng
) -> tuple[np.ndarray, pd.DataFrame]:
    """Embeddings and map table of sources scattered around blob centres.

    Parameters
    ----------
    ids : ndarray
        ``(N,)`` source ids, in store row order.
    centres, widths : ndarray
        ``(B, 2)`` blob centres and ``(B,)`` blob widths, in map units.
    rng : numpy.random.Generator
        Source of the blob memberships, positions and embeddings.

    Returns
    -------
    embeddings : ndarray
        ``(N, 16)`` float32, L2-normalised, one direction per blob (mod 16).
    table : pandas.DataFrame
        The version's map: id, x, y, anomaly score/rank, kNN distance,
        density and cluster (the blob).
    """
    n = len(ids)
    blob, xy, score = synthetic_points(n, centres, widths, rng)
    embeddings = rng.normal(size=(n, EMBEDDING_DIM)).astype(np.float32)
    embeddings[np.arange(n), blob % EMBEDDING_DIM] += 3.0
    embeddings /= np.linalg.norm(embeddings, axis=1, keepdims=True)
    table = pd.DataFrame(
        {
            "id": ids,
            "x": xy[:, 0].astype(np.float32),
            "y": xy[:, 1].astype(np.float32),
            "anomaly_score": score.astype(np.float32),
            "anomaly_rank": (np.argsort(np.argsort(-score)) + 1).astype(np.int32),
            "knn_distance": score.astype(np.float32),
            "density": (1 / (1 + score)).astype(np.float32),
            "cluster": blob.astype(np.int32),
        }
    )
    return embeddings, table


def build_store(root: Path, n: int, size: int, seed: int = 0) -> Store:
    """A store of ``n`` sources with one current version ``bench``.

    Parameters
    ----------
    root : pathlib.Path
        Store directory (overwritten if it exists).
    n : int
        Number of sources.
    size : int
        Cutout side in pixels (below 16 px the survey cutouts are binned).
    seed : int
        Seed of everything random in the store.

    Returns
    -------
    Store
        The opened store; its version holds embeddings, map and config.
    """
    rng = np.random.default_rng(seed)
    base, base_catalog = _base_cutouts(size, seed)
    centres, widths = blob_layout(rng)
    with Store.build(
        root, ["g", "r", "z"], size, overwrite=True, source="bench ui"
    ) as builder:
        _append_sources(builder, n, base, base_catalog, rng)
    store = builder.store
    embeddings, table = synthetic_map(store.ids, centres, widths, rng)
    info = {"embedding_dim": EMBEDDING_DIM}
    with store.new_version(VERSION, info=info) as tmp:
        np.save(tmp / layout.EMBEDDINGS, embeddings)
        table.to_parquet(tmp / layout.MAP, index=False)
        (tmp / layout.CONFIG).write_text(json.dumps({"features": "synthetic bench"}))
    return store


def box_around_median(
    x: np.ndarray, y: np.ndarray, target: int, view
) -> tuple[float, float, float, float]:
    """A square data box around the median point holding about ``target`` points.

    Parameters
    ----------
    x, y : ndarray
        ``(N,)`` map coordinates.
    target : int
        Wanted number of points inside the box.
    view : sequence of float
        ``(x0, x1, y0, y1)`` visible range; the box stays inside it.

    Returns
    -------
    tuple of float
        ``(x0, y0, x1, y1)`` in map units.
    """
    from scipy.optimize import brentq

    cx, cy = float(np.median(x)), float(np.median(y))
    span = min(view[1] - view[0], view[3] - view[2]) / 2 * 0.95

    def excess(half):
        inside = (np.abs(x - cx) <= half) & (np.abs(y - cy) <= half)
        return int(inside.sum()) - target

    half = brentq(excess, 1e-3, span, xtol=1e-3) if excess(span) > 0 else span
    return cx - half, cy - half, cx + half, cy + half
