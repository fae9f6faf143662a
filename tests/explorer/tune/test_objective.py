"""Tests of explorer.tune.objective: the label-free view-retrieval score."""

from __future__ import annotations

import numpy as np
import pytest

from explorer.tune.objective import TRANSFORMS, retrieval_rate, view_retrieval


def test_retrieval_rate_by_hand():
    a = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    # row 0 -> row 0, row 1 -> row 1; row 2's nearest in b is row 0 (cos 0.99)
    b = np.array([[1.0, 0.9], [0.0, 2.0], [-1.0, 1.0]])
    assert retrieval_rate(a, b) == pytest.approx(2 / 3)
    assert retrieval_rate(a, 5 * a) == 1.0  # lengths do not matter
    with pytest.raises(ValueError, match="arrays of one shape"):
        retrieval_rate(a, b[:2])


def test_an_invariant_encoder_scores_one_and_a_pixel_encoder_less():
    rng = np.random.default_rng(0)
    cutouts = rng.normal(size=(40, 2, 8, 8)).astype(np.float32)

    def sorted_pixels(x):  # invariant to any pixel permutation
        return np.sort(x.reshape(len(x), -1), axis=1)

    assert view_retrieval(cutouts, sorted_pixels) == 1.0
    pixels = view_retrieval(cutouts, lambda x: x.reshape(len(x), -1))
    assert pixels < 0.5


def test_transforms_are_exact_pixel_permutations():
    x = np.arange(2 * 3 * 5 * 5, dtype=np.float32).reshape(2, 3, 5, 5)
    for transform in TRANSFORMS.values():
        y = transform(x)
        assert y.shape == x.shape
        assert np.array_equal(np.sort(y, axis=None), np.sort(x, axis=None))
        assert not np.array_equal(y, x)
