"""Properties of the cluster metrics of explorer.analysis.metrics (hypothesis)."""

from __future__ import annotations

import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from explorer.analysis.metrics import davies_bouldin, silhouette

FAST = settings(max_examples=40, deadline=None)


@st.composite
def clustered(draw) -> tuple[np.ndarray, np.ndarray]:
    """``(X (n, D) float64, labels (n,))``: 2-4 clusters of >= 3 points, some noise."""
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    n_clusters = draw(st.integers(2, 4))
    dim = draw(st.integers(1, 6))
    sizes = [draw(st.integers(3, 25)) for _ in range(n_clusters)]
    spread = draw(st.floats(0.05, 5.0))
    centres = rng.normal(size=(n_clusters, dim)) * 3
    X = np.concatenate(
        [
            c + spread * rng.normal(size=(s, dim))
            for c, s in zip(centres, sizes, strict=True)
        ]
    )
    labels = np.repeat(np.arange(n_clusters), sizes)
    noise = rng.random(len(labels)) < draw(st.floats(0, 0.2))
    labels[noise] = -1
    return X, labels


@FAST
@given(data=clustered(), seed=st.integers(0, 1000))
def test_davies_bouldin_is_invariant_to_a_permutation_of_the_points(data, seed):
    X, labels = data
    first = davies_bouldin(X, labels)
    assume(np.isfinite(first.value))
    perm = np.random.default_rng(seed).permutation(len(X))
    again = davies_bouldin(X[perm], labels[perm])
    np.testing.assert_allclose(again.value, first.value, rtol=1e-9)


@FAST
@given(data=clustered(), scale=st.floats(1e-3, 1e3))
def test_davies_bouldin_is_invariant_to_uniform_scaling(data, scale):
    X, labels = data
    first = davies_bouldin(X, labels)
    assume(np.isfinite(first.value))
    scaled = davies_bouldin(X * scale, labels)
    np.testing.assert_allclose(scaled.value, first.value, rtol=1e-6)
    assert first.value >= 0


@FAST
@given(data=clustered())
def test_silhouette_lies_in_minus_one_to_one(data):
    X, labels = data
    score = silhouette(X, labels)
    assume(np.isfinite(score.value))
    assert -1.0 - 1e-12 <= score.value <= 1.0 + 1e-12
