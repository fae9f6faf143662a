"""Pixel features and the streamed pixel PCA."""

from __future__ import annotations

import numpy as np
import pytest

from explorer.analysis import features
from explorer.errors import DataError


def test_asinh_by_hand():
    img = np.array([0.0, 1.0, 2.0, 10.0], dtype=np.float32).reshape(1, 1, 2, 2)
    # median 1.5; |x - med| = 1.5, .5, .5, 8.5 -> MAD 1.0; scale 1.4826
    expected = np.arcsinh((np.array([0, 1, 2, 10]) - 1.5) / 1.4826)
    np.testing.assert_allclose(
        features.pixel_features(img, "asinh")[0], expected, rtol=1e-5
    )


def test_asinh_is_flux_invariant():
    rng = np.random.default_rng(0)
    cut = rng.normal(size=(3, 2, 8, 8)).astype(np.float32)
    a = features.pixel_features(cut, "asinh")
    b = features.pixel_features(5 * cut + 3, "asinh")
    np.testing.assert_allclose(a, b, atol=1e-4)


def test_standardise_per_pixel():
    rng = np.random.default_rng(1)
    cut = rng.normal(3, 2, size=(50, 1, 4, 4)).astype(np.float32)
    out = features.pixel_features(cut, "standardise")
    np.testing.assert_allclose(out.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(out.std(axis=0), 1, atol=1e-4)


@pytest.mark.parametrize(
    ("arr", "kind", "match"),
    [
        (np.zeros((2, 8, 8)), "asinh", "shape"),
        (np.zeros((2, 1, 4, 4)), "log", "unknown"),
        (np.full((2, 1, 4, 4), np.nan), "asinh", "rows"),
    ],
)
def test_bad_input(arr, kind, match):
    with pytest.raises(DataError, match=match):
        features.pixel_features(arr, kind)


def test_pixel_pca_streams_store_like_full_pca(small_store):
    from explorer.store import Store

    store = Store.open(small_store)
    out = features.pixel_pca(store, 8, "asinh", sample=store.n_sources, progress=False)
    assert out.shape == (store.n_sources, 8) and out.dtype == np.float32
    feats = features.pixel_features(np.asarray(store.cutouts[:]), "asinh")
    centred = feats - feats.mean(axis=0)
    _, sv, vt = np.linalg.svd(centred, full_matrices=False)
    ref = centred @ vt[:8].T
    # same subspace up to signs: compare per-component |correlation|
    for j in range(4):
        assert abs(np.corrcoef(out[:, j], ref[:, j])[0, 1]) > 0.99
    sub = features.pixel_pca(store, 8, "standardise", sample=100, progress=False)
    assert np.isfinite(sub).all() and sub.shape == out.shape


def test_pca_residual_by_hand():
    from explorer.analysis.features import pca_residual

    # one component along the first feature: the residual is the rest
    model = {
        "components": np.array([[1.0, 0.0, 0.0, 0.0]], np.float32),
        "mean": np.zeros(4, np.float32),
    }
    cutouts = np.array([[1.0, -1.0, 1.0, -1.0]], np.float32).reshape(1, 1, 2, 2)
    feats = features.pixel_features(cutouts, "asinh")
    proj, resid = pca_residual(cutouts, model)
    np.testing.assert_allclose(proj[:, 0], feats[:, 0], rtol=1e-6)
    np.testing.assert_allclose(resid, (feats[0, 1:] ** 2).sum() / 4, rtol=1e-6)
