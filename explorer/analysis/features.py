"""Pixel features: the no-learning baselines the embedding is compared with.

``pixel_features`` flattens cutouts after one of two normalisations:

* ``"asinh"`` -- per image: subtract the median, divide by the robust noise
  (1.4826 x median absolute deviation over all bands), then ``asinh``. Bright
  and faint sources become comparable and the shape dominates, much like the
  display stretch a person looks at.
* ``"standardise"`` -- per pixel: subtract the survey mean of that pixel and
  divide by its standard deviation (statistics from a sample of the survey).

``pixel_pca`` reduces those features of a whole store to ``n_components``
dimensions (PCA-64 by default): the principal axes are fitted with a
randomised SVD on a seeded sample of at most ``sample`` cutouts, then every
shard of the store is streamed through the projection, so memory stays
bounded by one shard whatever the survey size.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from explorer.analysis.validate import finite_rows
from explorer.errors import DataError

if TYPE_CHECKING:
    from explorer.store import Store

log = logging.getLogger(__name__)

KINDS = ("asinh", "standardise")


def pixel_features(
    cutouts: np.ndarray,
    kind: str = "asinh",
    *,
    stats: tuple[np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """Flattened, normalised pixels.

    Parameters
    ----------
    cutouts : ndarray
        ``(n, bands, S, S)`` float pixels.
    kind : {"asinh", "standardise"}
        Normalisation (see module docstring).
    stats : (mean, std), optional
        Per-pixel ``(bands*S*S,)`` mean and standard deviation for
        ``"standardise"``; default: those of ``cutouts`` themselves.

    Returns
    -------
    ndarray
        ``(n, bands*S*S)`` float32.

    Raises
    ------
    DataError
        On a wrong shape, an unknown ``kind`` or non-finite pixels.
    """
    cutouts = np.asarray(cutouts, dtype=np.float32)
    if cutouts.ndim != 4:
        msg = f"cutouts must be (n, bands, S, S), got shape {cutouts.shape}"
        raise DataError(msg)
    if kind not in KINDS:
        msg = f"unknown pixel feature kind {kind!r} (use one of {KINDS})"
        raise DataError(msg)
    flat = finite_rows(cutouts.reshape(len(cutouts), -1), what="cutouts")
    if kind == "asinh":
        median = np.median(flat, axis=1, keepdims=True)
        mad = np.median(np.abs(flat - median), axis=1, keepdims=True)
        scale = 1.4826 * mad
        scale = np.where(
            scale > 0, scale, np.maximum(flat.std(axis=1, keepdims=True), 1e-12)
        )
        return np.arcsinh((flat - median) / scale).astype(np.float32)
    mean, std = stats if stats is not None else (flat.mean(axis=0), flat.std(axis=0))
    return ((flat - mean) / np.where(std > 0, std, 1.0)).astype(np.float32)


def fit_pixel_pca(
    sample: np.ndarray, n_components: int = 64, kind: str = "asinh", seed: int = 0
) -> dict[str, np.ndarray]:
    """Fit the pixel PCA on a sample of cutouts.

    Returns
    -------
    dict
        ``components`` ``(n_components, F)``, ``mean`` ``(F,)`` of the
        features, and for ``"standardise"`` the pixel ``stats_mean``/``stats_std``.
    """
    from sklearn.utils.extmath import randomized_svd

    sample = np.asarray(sample, dtype=np.float32)
    model: dict[str, np.ndarray] = {}
    stats = None
    if kind == "standardise":
        flat = sample.reshape(len(sample), -1)
        stats = (flat.mean(axis=0), flat.std(axis=0))
        model["stats_mean"], model["stats_std"] = stats
    feats = pixel_features(sample, kind, stats=stats)
    mean = feats.mean(axis=0)
    n_components = int(min(n_components, len(feats), feats.shape[1]))
    _, _, vt = randomized_svd(feats - mean, n_components, random_state=seed)
    model["components"] = vt.astype(np.float32)
    model["mean"] = mean.astype(np.float32)
    return model


def transform_pixel_pca(
    cutouts: np.ndarray, model: dict[str, np.ndarray], kind: str = "asinh"
) -> np.ndarray:
    """Project cutouts with a model from :func:`fit_pixel_pca`; ``(n, k)`` float32."""
    stats = (model["stats_mean"], model["stats_std"]) if kind == "standardise" else None
    feats = pixel_features(cutouts, kind, stats=stats)
    return ((feats - model["mean"]) @ model["components"].T).astype(np.float32)


def pixel_pca(
    store: Store,
    n_components: int = 64,
    kind: str = "asinh",
    *,
    sample: int = 5000,
    seed: int = 0,
    progress: bool = True,
) -> np.ndarray:
    """PCA of the pixel features of every source of a store, streamed by shard.

    Parameters
    ----------
    store : Store
        The store whose cutouts are reduced.
    n_components : int
        Output dimensions (capped by the sample size and the pixel count).
    kind : {"asinh", "standardise"}
        Pixel normalisation (see module docstring).
    sample : int
        At most this many cutouts (seeded choice) fit the principal axes.
    seed : int
        Seed of the sample and of the randomised SVD.
    progress : bool
        Show a progress bar over the shards.

    Returns
    -------
    ndarray
        ``(N, n_components)`` float32, rows aligned with the store's catalogue.
    """
    model = _fit_on_sample(store, n_components, kind, sample, seed)
    out = np.empty((store.n_sources, model["components"].shape[0]), dtype=np.float32)
    for start, block in _shards(store, "pixel PCA", progress):
        out[start : start + len(block)] = transform_pixel_pca(block, model, kind)
    log.info("pixel PCA (%s) of %d sources -> %d dims", kind, len(out), out.shape[1])
    return out


def _fit_on_sample(
    store: Store, n_components: int, kind: str, sample: int, seed: int
) -> dict[str, np.ndarray]:
    """:func:`fit_pixel_pca` on a seeded sample of at most ``sample`` cutouts."""
    n = store.n_sources
    rows = np.sort(np.random.default_rng(seed).choice(n, min(sample, n), replace=False))
    return fit_pixel_pca(store.cutouts_at(rows), n_components, kind, seed)


def _shards(store: Store, desc: str, progress: bool):
    """``(start, cutouts)`` shard by shard, with a progress bar."""
    from tqdm.auto import tqdm

    from explorer.store.layout import SHARD_SOURCES

    n_blocks = -(-store.n_sources // SHARD_SOURCES)
    yield from tqdm(
        store.iter_cutouts(), total=n_blocks, desc=desc, disable=not progress
    )


def pca_residual(
    cutouts: np.ndarray, model: dict[str, np.ndarray], kind: str = "asinh"
) -> tuple[np.ndarray, np.ndarray]:
    """Projection and reconstruction residual of cutouts under a pixel PCA.

    The residual is what the principal axes of ordinary sources cannot
    describe: a trail, a ring, a cosmic ray leave it large whatever the
    embedding learned to ignore.

    Parameters
    ----------
    cutouts : ndarray
        ``(n, bands, S, S)`` pixels.
    model : dict
        From :func:`fit_pixel_pca`.
    kind : {"asinh", "standardise"}
        The normalisation the model was fitted with.

    Returns
    -------
    projection : ndarray
        ``(n, k)`` float32.
    residual : ndarray
        ``(n,)`` float32 mean squared residual per feature.
    """
    stats = (model["stats_mean"], model["stats_std"]) if kind == "standardise" else None
    centred = pixel_features(cutouts, kind, stats=stats) - model["mean"]
    projection = centred @ model["components"].T
    rest = centred - projection @ model["components"]
    residual = np.einsum("ij,ij->i", rest, rest) / max(centred.shape[1], 1)
    return projection.astype(np.float32), residual.astype(np.float32)


def pixel_scan(
    store: Store,
    n_components: int = 64,
    kind: str = "asinh",
    *,
    sample: int = 5000,
    seed: int = 0,
    progress: bool = True,
) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """One streamed pass over a store's cutouts: pixel PCA, residual, artefacts.

    Cutouts are read shard by shard (never all at once); the principal axes
    are fitted on a seeded sample as in :func:`pixel_pca`.

    Parameters
    ----------
    store : Store
        The store.
    n_components, kind, sample, seed, progress
        As in :func:`pixel_pca`.

    Returns
    -------
    features : ndarray
        ``(N, n_components)`` float32 pixel PCA.
    residual : ndarray
        ``(N,)`` float32 reconstruction residual (:func:`pca_residual`).
    flags : DataFrame
        ``N`` rows of :func:`explorer.analysis.artefacts.artefact_flags`.
    """
    from explorer.analysis.artefacts import artefact_flags

    n = store.n_sources
    model = _fit_on_sample(store, n_components, kind, sample, seed)
    features = np.empty((n, model["components"].shape[0]), dtype=np.float32)
    residual = np.empty(n, dtype=np.float32)
    flags = []
    for start, block in _shards(store, "pixel scan", progress):
        stop = start + len(block)
        features[start:stop], residual[start:stop] = pca_residual(block, model, kind)
        flags.append(artefact_flags(block))
    log.info("pixel scan (%s) of %d sources -> %d dims", kind, n, features.shape[1])
    return features, residual, pd.concat(flags, ignore_index=True)
