"""Tests of explorer.active.simulate: the simulated astronomer."""

from __future__ import annotations

import numpy as np

from explorer.active import RelevanceModel
from explorer.active.simulate import active_views, density_views, found, truth_tags


def two_clusters(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """10 interesting sources near e0, 90 boring near e1; anomaly favours boring."""
    rng = np.random.default_rng(seed)
    x = np.zeros((100, 20), dtype=np.float32)
    x[:10, 0] = 1.0
    x[10:, 1] = 1.0
    x += 0.05 * rng.standard_normal(x.shape).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    kinds = np.array(["ring"] * 10 + ["disc"] * 85 + ["cosmic_ray"] * 5)
    score = np.linspace(1.0, 0.0, 100)
    score[10:30] += 2.0  # the 20 most anomalous are boring ...
    score[0] += 1.5  # ... then one ring
    return x, score, kinds


def test_truth_tags():
    tags = truth_tags(np.array(["ring", "disc", "cosmic_ray"]), "ring", ["cosmic_ray"])
    assert tags.tolist() == ["interesting", "boring", "artefact"]


def test_density_sees_the_fixed_top():
    _, score, kinds = two_clusters()
    tags = truth_tags(kinds, "ring", ["cosmic_ray"])
    views = density_views(score, 25)
    assert views[:20].tolist() == list(range(10, 30))
    assert views[20] == 0
    assert found(views, tags) == 1 + 4  # source 0, then 1..4 by the linear part


def test_active_follows_the_first_interesting_find():
    x, score, kinds = two_clusters()
    tags = truth_tags(kinds, "ring", ["cosmic_ray"])
    model = RelevanceModel(k=15, bandwidth=0.5, prior_weight=0.1).fit(x, score)
    views = active_views(model, tags, 25)
    # boring labels sink their neighbourhood; the first ring pulls up the rest
    assert found(views, tags) == 10
    assert set(range(10)) <= set(views.tolist())
    assert len(set(views.tolist())) == 25  # nothing is shown twice
