"""Tests of explorer.active.acquisition: exploit and explore orders."""

from __future__ import annotations

import numpy as np
import pytest

from explorer.active.acquisition import acquisition_order
from explorer.active.relevance import RelevanceModel
from explorer.errors import DataError

VECTORS = np.array([[1, 0], [0.8, 0.6], [0, 1], [-1, 0]], dtype=np.float32)


@pytest.fixture
def model():
    m = RelevanceModel(k=2, bandwidth=0.2, prior_weight=1.0, prior_power=1.0)
    return m.fit(VECTORS, np.array([4.0, 3.0, 2.0, 1.0]))


def test_no_labels_is_the_anomaly_order(model):
    assert acquisition_order(model, 10).tolist() == [0, 1, 2, 3]
    assert acquisition_order(model, 2, "explore").tolist() == [0, 1]


def test_exploit_and_explore_after_labels(model):
    model.label([0], 1.0)
    model.label([2], 0.0)
    # relevance v1 = 0.494, v3 = 0.125; uncertainty v1 = 0.2, v3 = 1
    assert acquisition_order(model, 10, "exploit").tolist() == [1, 3]
    assert acquisition_order(model, 10, "explore").tolist() == [3, 1]
    assert acquisition_order(model, 1).tolist() == [1]


def test_everything_labelled_gives_an_empty_queue(model):
    model.label([0, 1, 2, 3], 0.0)
    assert acquisition_order(model, 5).size == 0


def test_unknown_mode(model):
    with pytest.raises(DataError, match="not one of"):
        acquisition_order(model, 5, "random")
