"""Tests of models.losses.byol against a hand-written reference."""

from __future__ import annotations

import pytest
import torch

from models.losses import byol_loss


def test_byol_loss_matches_reference():
    gen = torch.Generator().manual_seed(1)
    p1, p2, t1, t2 = (torch.randn(6, 5, generator=gen) for _ in range(4))

    def ref(p, t):
        return sum(
            2 - 2 * float(p[i] @ t[i] / (p[i].norm() * t[i].norm()))
            for i in range(len(p))
        ) / len(p)

    expected = ref(p1, t2) + ref(p2, t1)
    assert expected > 0.5  # random vectors: far from the aligned optimum
    assert float(byol_loss(p1, p2, t1, t2)) == pytest.approx(expected, rel=1e-5)
    assert float(byol_loss(p1, p2, p2, p1)) == pytest.approx(0.0, abs=1e-5)


def test_byol_loss_stops_target_gradient():
    t = torch.randn(4, 3, requires_grad=True)
    p = torch.randn(4, 3, requires_grad=True)
    byol_loss(p, p, t, t).backward()
    assert t.grad is None and p.grad is not None
