"""Map methods per version: UMAP, openTSNE, PCA; seeds and records."""

from __future__ import annotations

import numpy as np
import pytest

from explorer.analysis import map_methods
from explorer.analysis.neighbors import normalise
from explorer.analysis.trustworthiness import trustworthiness
from explorer.errors import DataError


@pytest.fixture(scope="module")
def blobs():
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(4, 16)) * 3
    labels = np.repeat(np.arange(4), 100)
    x = normalise(centres[labels] + rng.normal(size=(400, 16)))
    return x.astype(np.float32), labels


def _separation(xy: np.ndarray, labels: np.ndarray) -> float:
    """Smallest between-centre distance over the largest within-blob spread."""
    centres = np.array([xy[labels == k].mean(axis=0) for k in range(4)])
    spread = max(xy[labels == k].std(axis=0).max() for k in range(4))
    gaps = np.linalg.norm(centres[:, None] - centres[None], axis=-1)
    return float(gaps[np.triu_indices(4, 1)].min() / spread)


def test_pca_map_is_the_first_two_principal_axes(blobs):
    x, labels = blobs
    xy, record = map_methods.project(x, "pca")
    centred = x - x.mean(axis=0)
    _, _, vt = np.linalg.svd(centred.astype(np.float64), full_matrices=False)
    expected = centred @ vt[:2].T
    # Axes are defined up to sign.
    for axis in range(2):
        sign = np.sign(expected[:, axis] @ xy[:, axis])
        np.testing.assert_allclose(xy[:, axis], sign * expected[:, axis], atol=1e-4)
    assert record["method"] == "pca" and record["seed"] is None


@pytest.mark.slow
def test_tsne_separates_blobs_and_is_reproducible_with_a_seed(blobs):
    x, labels = blobs
    a, record = map_methods.project(x, "tsne", seed=3)
    b, _ = map_methods.project(x[:120], "tsne", seed=3)
    c, _ = map_methods.project(x[:120], "tsne", seed=3)
    np.testing.assert_allclose(b, c)
    assert _separation(a, labels) > 2
    assert record["params"]["perplexity"] == 30.0 and record["fit_rows"] == 400
    assert record["seed"] == 3
    assert trustworthiness(x, a, k=10)["trustworthiness"] > 0.9


@pytest.mark.slow
def test_tsne_fit_on_sample_places_the_rest(blobs):
    x, labels = blobs
    xy, fit_rows, params = map_methods.tsne_map(x[::2], 1, fit_max=100)
    labels = labels[::2]
    assert fit_rows == 100 and params["placed_by"] == "TSNEEmbedding.transform"
    assert np.isfinite(xy).all() and _separation(xy, labels) > 2


@pytest.mark.slow
def test_umap_unseeded_runs_parallel_seeded_reproducible(blobs):
    x, labels = blobs
    xy, record = map_methods.project(x, "umap")
    assert record["seed"] is None and record["params"]["n_jobs"] == -1
    assert _separation(xy, labels) > 2
    a, rec = map_methods.project(x, "umap", seed=5)
    b, _ = map_methods.project(x, "umap", seed=5)
    np.testing.assert_array_equal(a, b)
    assert rec["params"]["n_jobs"] == 1


def test_unknown_method_refused(blobs):
    with pytest.raises(DataError, match="map method 'mds' is not one of"):
        map_methods.project(blobs[0], "mds")
