"""Tests of models.losses.supcon against a hand-computed reference."""

from __future__ import annotations

import math

import pytest
import torch

from models.losses import nt_xent, supcon_loss


def _reference_supcon(z, labels, temperature):
    """Khosla et al. eq. 2 written out with Python loops."""
    z = [[x / math.sqrt(sum(y * y for y in v)) for x in v] for v in z.tolist()]
    labels = labels.tolist()
    n, total, anchors = len(z), 0.0, 0

    def sim(a, b):
        return sum(x * y for x, y in zip(z[a], z[b], strict=True)) / temperature

    for i in range(n):
        positives = [p for p in range(n) if p != i and labels[p] == labels[i]]
        if not positives:
            continue
        denom = sum(math.exp(sim(i, a)) for a in range(n) if a != i)
        total += -sum(math.log(math.exp(sim(i, p)) / denom) for p in positives) / len(
            positives
        )
        anchors += 1
    return total / anchors


def test_supcon_matches_hand_computed_reference():
    gen = torch.Generator().manual_seed(0)
    z = torch.randn(7, 5, generator=gen)
    labels = torch.tensor([0, 0, 1, 1, 1, 2, 3])  # labels 2 and 3 have no positive
    got = supcon_loss(z, labels, temperature=0.3)
    assert float(got) == pytest.approx(_reference_supcon(z, labels, 0.3), rel=1e-5)


def test_supcon_with_pair_labels_is_nt_xent():
    gen = torch.Generator().manual_seed(1)
    z1, z2 = torch.randn(6, 8, generator=gen), torch.randn(6, 8, generator=gen)
    labels = torch.cat([torch.arange(6), torch.arange(6)])
    assert float(supcon_loss(torch.cat([z1, z2]), labels, 0.2)) == pytest.approx(
        float(nt_xent(z1, z2, 0.2)), rel=1e-5
    )


def test_supcon_without_positives_is_zero_with_gradient():
    z = torch.randn(4, 3, requires_grad=True)
    loss = supcon_loss(z, torch.arange(4))
    loss.backward()
    assert float(loss.detach()) == 0.0 and z.grad is not None
    with pytest.raises(ValueError, match="do not match"):
        supcon_loss(z, torch.arange(3))
