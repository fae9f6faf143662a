"""Map projection (UMAP on the FAISS graph) and Procrustes alignment."""

from __future__ import annotations

import numpy as np
import pytest

from explorer.analysis.projection import MapProjector, align, procrustes
from explorer.errors import DataError


def _rotation(angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, -s], [s, c]])


def test_procrustes_recovers_similarity_transform_with_reflection():
    rng = np.random.default_rng(0)
    old = rng.normal(size=(50, 2))
    reflect = np.diag([1.0, -1.0])
    new = (old @ _rotation(0.7) @ reflect) * 3.0 + np.array([5.0, -2.0])
    scale, rot, shift = procrustes(new, old)
    assert scale == pytest.approx(1 / 3)
    np.testing.assert_allclose(scale * new @ rot + shift, old, atol=1e-9)
    np.testing.assert_allclose(align(new, old), old, atol=1e-5)


def test_align_on_shared_ids_applies_to_all_rows():
    rng = np.random.default_rng(1)
    old = rng.normal(size=(40, 2))
    old_ids = np.arange(40)
    new_ids = np.arange(10, 60)  # 30 shared, 20 new sources
    truth = rng.normal(size=(50, 2))
    truth[:30] = old[10:]
    new = truth @ _rotation(2.0) * 0.5 + 1.0
    aligned = align(new, old, new_ids=new_ids, old_ids=old_ids)
    np.testing.assert_allclose(aligned, truth, atol=1e-5)
    with pytest.raises(DataError, match="pass ids"):
        align(new, old)
    few = align(new, old, new_ids=new_ids, old_ids=np.arange(100, 140))
    np.testing.assert_allclose(few, new, atol=1e-6)


@pytest.fixture(scope="module")
def blobs():
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(3, 16)) * 3
    x = np.concatenate([rng.normal(c, 0.3, (120, 16)) for c in centres]).astype(
        np.float32
    )
    return x, np.repeat(np.arange(3), 120)


def test_map_separates_blobs_and_transforms(blobs):
    x, truth = blobs
    projector = MapProjector(n_neighbors=10, n_epochs=60, fit_max=200).fit(x)
    xy = projector.embedding_
    assert xy.shape == (360, 2) and xy.dtype == np.float32 and np.isfinite(xy).all()
    assert len(projector.fit_rows_) == 200
    centres = np.array([xy[truth == t].mean(axis=0) for t in range(3)])
    spread = max(xy[truth == t].std(axis=0).max() for t in range(3))
    gaps = [
        np.linalg.norm(centres[a] - centres[b]) for a, b in ((0, 1), (0, 2), (1, 2))
    ]
    assert min(gaps) > 2 * spread
    placed = projector.transform(x[:5])
    nearest = np.argmin(((centres[None] - placed[:, None]) ** 2).sum(-1), axis=1)
    np.testing.assert_array_equal(nearest, truth[:5])
    with pytest.raises(DataError, match="NaN"):
        MapProjector().fit(np.full((5, 3), np.nan))


def test_sampled_fit_places_rest_from_full_graph(blobs):
    from explorer.analysis.neighbors import SimilarityIndex

    x, truth = blobs
    knn = SimilarityIndex.build(x, np.arange(len(x))).knn_graph(9)
    projector = MapProjector(n_neighbors=10, n_epochs=60, fit_max=150).fit(x, knn)
    xy = projector.embedding_
    rest = np.setdiff1d(np.arange(len(x)), projector.fit_rows_)
    fitted = projector.fit_rows_
    centres = np.array([xy[fitted][truth[fitted] == t].mean(axis=0) for t in range(3)])
    nearest = np.argmin(((centres[None] - xy[rest][:, None]) ** 2).sum(-1), axis=1)
    assert np.mean(nearest == truth[rest]) > 0.95
