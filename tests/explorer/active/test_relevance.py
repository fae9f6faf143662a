"""Tests of explorer.active.relevance against hand-computed propagation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from explorer.active.relevance import RelevanceModel, anomaly_prior
from explorer.errors import DataError

#: Four unit vectors in 2-D: v1 has cosine 0.8 with v0 and 0.6 with v2;
#: v2 is orthogonal to v0; v3 is opposite v0.
VECTORS = np.array([[1, 0], [0.8, 0.6], [0, 1], [-1, 0]], dtype=np.float32)
SCORE = np.array([4.0, 3.0, 2.0, 1.0])


@pytest.fixture
def model():
    # prior = 0.5 * rank quantile: [0.5, 0.375, 0.25, 0.125]
    return RelevanceModel(
        k=2, bandwidth=0.2, prior_weight=1.0, prior_top=0.5, prior_power=1.0
    ).fit(VECTORS, SCORE)


def test_prior_is_steep_in_the_rank_quantile():
    assert anomaly_prior(SCORE, 0.5, 1.0).tolist() == [0.5, 0.375, 0.25, 0.125]
    # tied scores share rank 1.5 of 2: 0.5 * 0.75**2
    assert anomaly_prior(np.array([1.0, 1.0]), 0.5, 2.0).tolist() == [0.28125] * 2
    assert anomaly_prior(np.array([5.0, 1.0]), 0.5, 20.0)[1] == 0.5 * 0.5**20
    with pytest.raises(DataError, match="non-finite"):
        anomaly_prior(np.array([1.0, np.nan]))


def test_without_labels_relevance_is_the_prior(model):
    np.testing.assert_allclose(model.relevance(), [0.5, 0.375, 0.25, 0.125])
    assert model.uncertainty().tolist() == [1.0, 1.0, 1.0, 1.0]


def test_one_interesting_label_reaches_its_k_neighbours(model):
    model.label([0], 1.0)  # kNN(v0) with k=2: v0 itself (w=1), v1 (w=e^-1)
    w01 = math.exp(-0.2 / 0.2)
    expected = [
        (1 + 0.5) / (1 + 1),
        (w01 + 0.375) / (w01 + 1),  # 0.54309
        0.25,  # v2 is not among v0's 2 neighbours
        0.125,
    ]
    np.testing.assert_allclose(model.relevance(), expected, rtol=1e-6)
    np.testing.assert_allclose(model.uncertainty(), [0, 0.2, 1, 1], atol=1e-6)


def test_a_boring_label_pulls_the_shared_neighbour_down(model):
    model.label([0], 1.0)
    model.label_tags([2], ["boring"])  # kNN(v2): v2 (w=1), v1 (cos .6, w=e^-2)
    w01, w21 = math.exp(-1), math.exp(-2)
    r1 = (w01 + 0.375) / (w01 + w21 + 1)
    np.testing.assert_allclose(model.relevance()[[1, 2]], [r1, 0.25 / 2], rtol=1e-6)
    assert abs(r1 - 0.494192) < 1e-5
    np.testing.assert_allclose(model.uncertainty(), [0, 0.2, 0, 1], atol=1e-6)


def test_unlabel_restores_the_state_before(model):
    model.label([0], 1.0)
    before = (model.relevance().copy(), model.uncertainty().copy())
    model.label([2], 0.0)
    model.unlabel([2])
    np.testing.assert_allclose(model.relevance(), before[0], rtol=1e-12)
    np.testing.assert_allclose(model.uncertainty(), before[1], atol=1e-6)
    model.unlabel([0, 3])  # 3 was never labelled: ignored
    np.testing.assert_allclose(model.relevance(), [0.5, 0.375, 0.25, 0.125])
    assert model.labelled_rows().size == 0


def test_relabel_replaces_the_value(model):
    model.label([0], 1.0)
    model.label_tags([0], ["artefact"])
    assert model.relevance()[0] == pytest.approx(0.5 / 2)
    assert model.labels_ == {0: 0.0}


def test_incremental_equals_the_formula_from_scratch():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(300, 8)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    score = rng.normal(size=300)
    m = RelevanceModel(k=20, bandwidth=0.3, prior_weight=2.0, prior_power=20.0)
    m.fit(x, score)
    rows, values = [5, 17, 99, 250, 17], [1.0, 0.0, 1.0, 0.0, 1.0]
    for r, v in zip(rows, values, strict=True):
        m.label([r], v)
    m.unlabel([99])
    final = {5: 1.0, 17: 1.0, 250: 0.0}
    sims = x @ x.T
    num = np.zeros(300)
    den = np.zeros(300)
    for r, v in final.items():
        near = np.argsort(-sims[r])[:20]
        w = np.exp(-(1 - sims[r, near].astype(np.float64)) / 0.3)
        num[near] += w * v
        den[near] += w
    prior = anomaly_prior(score, 0.5, 20.0)
    np.testing.assert_allclose(m.relevance(), (num + 2 * prior) / (den + 2), rtol=1e-5)
    nearest = sims[list(final)].max(axis=0)
    np.testing.assert_allclose(m.uncertainty(), np.clip(1 - nearest, 0, 1), atol=1e-5)


@pytest.mark.parametrize(
    ("rows", "values", "match"),
    [([7], 1.0, "outside the embedding"), ([1], 2.0, r"\[0, 1\]")],
)
def test_bad_labels(model, rows, values, match):
    with pytest.raises(DataError, match=match):
        model.label(rows, values)


def test_bad_tag_and_shapes(model):
    with pytest.raises(DataError, match="not one of"):
        model.label_tags([1], ["cool"])
    with pytest.raises(DataError, match="does not match"):
        RelevanceModel().fit(VECTORS, SCORE[:3])
    with pytest.raises(DataError, match="k >= 1"):
        RelevanceModel(k=0).fit(VECTORS, SCORE)


def test_a_row_twice_in_one_call_keeps_the_last_value(model):
    model.label([0, 0], [1.0, 0.0])
    assert model.labels_ == {0: 0.0}
    assert model.relevance()[0] == pytest.approx(0.5 / 2)
