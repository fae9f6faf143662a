"""Tests of models.losses.pairs against a hand-computed reference."""

from __future__ import annotations

import math

import pytest
import torch

from models.losses import supcon_loss
from models.losses.pairs import marked_pair_loss


def _reference(h, positive, negative, temperature, weight):
    """The module's formula written out with Python loops."""
    h = [[x / math.sqrt(sum(y * y for y in v)) for x in v] for v in h.tolist()]
    n, total, anchors = len(h), 0.0, 0

    def sim(a, b):
        return sum(x * y for x, y in zip(h[a], h[b], strict=True)) / temperature

    for i in range(n):
        positives = [p for p in range(n) if p != i and positive[i][p]]
        if not positives:
            continue
        denom = sum(
            (weight if negative[i][a] else 1.0) * math.exp(sim(i, a))
            for a in range(n)
            if a != i
        )
        logs = [math.log(math.exp(sim(i, p)) / denom) for p in positives]
        total += -sum(logs) / len(positives)
        anchors += 1
    return total / anchors


def _masks():
    positive = torch.zeros(6, 6, dtype=torch.bool)
    negative = torch.zeros(6, 6, dtype=torch.bool)
    for a, b in ((0, 1), (2, 3), (0, 3)):
        positive[a, b] = positive[b, a] = True
    for a, b in ((0, 4), (1, 2)):
        negative[a, b] = negative[b, a] = True
    return positive, negative  # source 4 and 5 have no positive


@pytest.mark.parametrize("weight", [1.0, 3.0])
def test_matches_hand_computed_reference(weight):
    h = torch.randn(6, 4, generator=torch.Generator().manual_seed(0))
    positive, negative = _masks()
    got = marked_pair_loss(h, positive, negative, 0.5, negative_weight=weight)
    want = _reference(h, positive.tolist(), negative.tolist(), 0.5, weight)
    assert float(got) == pytest.approx(want, rel=1e-5)


def test_up_weighting_a_hard_negative_raises_the_loss():
    h = torch.randn(6, 4, generator=torch.Generator().manual_seed(1))
    positive, negative = _masks()
    plain = marked_pair_loss(h, positive, negative, 0.5, negative_weight=1.0)
    heavy = marked_pair_loss(h, positive, negative, 0.5, negative_weight=5.0)
    assert float(heavy) > float(plain)


def test_label_masks_give_supcon():
    h = torch.randn(7, 5, generator=torch.Generator().manual_seed(2))
    labels = torch.tensor([0, 0, 1, 1, 1, 2, 3])
    positive = labels[:, None] == labels[None, :]
    assert float(marked_pair_loss(h, positive, None, 0.3)) == pytest.approx(
        float(supcon_loss(h, labels, 0.3)), rel=1e-5
    )


def test_gradient_pulls_positives_and_pushes_hard_negatives():
    h = torch.tensor([[1.0, 0.0], [0.6, 0.8], [0.8, -0.6], [0.0, 1.0]])
    h.requires_grad_(True)
    positive = torch.zeros(4, 4, dtype=torch.bool)
    negative = torch.zeros(4, 4, dtype=torch.bool)
    positive[0, 1] = positive[1, 0] = True
    negative[0, 2] = negative[2, 0] = True
    marked_pair_loss(h, positive, negative, 0.2, negative_weight=2.0).backward()
    step = h.detach() - 0.1 * h.grad
    cos = torch.nn.functional.cosine_similarity
    assert float(cos(step[0], step[1], dim=0)) > 0.6  # "+" closer than before
    assert float(cos(step[0], step[2], dim=0)) < 0.8  # "-" further than before


def test_no_positive_gives_zero_with_a_gradient():
    h = torch.randn(3, 2, requires_grad=True)
    loss = marked_pair_loss(h, torch.zeros(3, 3, dtype=torch.bool))
    assert float(loss.detach()) == 0.0
    loss.backward()


def test_bad_inputs_are_named():
    h = torch.randn(4, 3)
    eye = torch.eye(4, dtype=torch.bool)
    with pytest.raises(ValueError, match=r"\(M, M\)"):
        marked_pair_loss(h, torch.zeros(3, 3, dtype=torch.bool))
    with pytest.raises(ValueError, match="both positive and hard negative"):
        marked_pair_loss(h, ~eye, ~eye)
    with pytest.raises(ValueError, match="hard-negative mask"):
        marked_pair_loss(h, eye, torch.zeros(2, 2, dtype=torch.bool))
    with pytest.raises(ValueError, match="must be positive"):
        marked_pair_loss(h, ~eye, temperature=0.0)
