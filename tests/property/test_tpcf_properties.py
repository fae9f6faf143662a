"""Properties of the two-point correlation score of explorer.analysis.tpcf."""

from __future__ import annotations

import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from explorer.analysis.tpcf import tpcf_score, xi_and_sigma

FAST = settings(max_examples=30, deadline=None)
COUNTS = st.floats(0, 1e6, allow_nan=False)


@st.composite
def pair_counts(draw) -> tuple[np.ndarray, np.ndarray]:
    """``(DD, RR/f^2)`` per bin: DD integral >= 0, RR >= 0 (some bins empty)."""
    n_bins = draw(st.integers(1, 30))
    dd = np.floor(draw(arrays(np.float64, n_bins, elements=COUNTS)))
    # RR is n^2 times a bin's probability: 0 or well above the float minimum
    rr_values = st.one_of(st.just(0.0), st.floats(1e-6, 1e6))
    rr = draw(arrays(np.float64, n_bins, elements=rr_values))
    return dd, rr


@FAST
@given(counts=pair_counts())
def test_xi_is_finite_where_pairs_exist_and_signed_by_dd_minus_rr(counts):
    dd, rr = counts
    xi, sigma = xi_and_sigma(dd, rr)
    defined = rr > 0
    assert np.isfinite(xi[defined]).all()
    assert np.isfinite(sigma[defined]).all()
    assert np.isnan(xi[~defined]).all()
    np.testing.assert_array_equal(np.sign(xi[defined]), np.sign(dd - rr)[defined])
    assert (xi[defined] >= -1.0).all()


@st.composite
def clouds(draw) -> np.ndarray:
    """``(n, D)`` points: a Gaussian blob, or a few tight clumps."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    n, dim = draw(st.integers(30, 200)), draw(st.integers(2, 8))
    if draw(st.booleans()):
        return rng.normal(size=(n, dim))
    centres = rng.normal(size=(draw(st.integers(2, 5)), dim)) * 5
    return centres[rng.integers(len(centres), size=n)] + 0.1 * rng.normal(size=(n, dim))


@FAST
@given(X=clouds(), scale=st.floats(1e-3, 1e3), shift=st.floats(-1e3, 1e3))
def test_the_score_keeps_its_sign_under_scaling_and_translation(X, scale, shift):
    first = tpcf_score(X)
    assume(np.isfinite(first.score))
    assert np.isfinite(first.xi[first.dd > 0]).all()
    moved = tpcf_score(X * scale + shift)
    assert np.sign(moved.score) == np.sign(first.score)
    np.testing.assert_allclose(moved.score, first.score, rtol=1e-6, atol=1e-9)
