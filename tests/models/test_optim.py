"""Tests of models.optim: LARS, the warm-up + cosine schedule, BYOL's momentum."""

from __future__ import annotations

import math

import pytest
import torch

from models.optim import LARS, byol_tau, lr_at, make_optimizer


def test_lr_schedule_warmup_then_cosine():
    lrs = [lr_at(s, 100, 10, 1.0) for s in range(100)]
    assert lrs[0] == pytest.approx(0.1) and lrs[9] == pytest.approx(1.0)
    assert lrs[10] == pytest.approx(1.0)
    assert lrs[55] == pytest.approx(0.5 * (1 + math.cos(math.pi * 45 / 90)), abs=1e-3)
    assert all(a >= b for a, b in zip(lrs[10:], lrs[11:], strict=False))
    assert lrs[-1] < 0.01


def test_byol_tau_schedule():
    assert byol_tau(0.99, 0, 100) == pytest.approx(0.99)
    assert byol_tau(0.99, 100, 100) == pytest.approx(1.0)
    assert 0.99 < byol_tau(0.99, 50, 100) < 1.0


def test_lars_scales_matrices_by_trust_ratio_and_leaves_vectors_plain():
    weight = torch.nn.Parameter(torch.full((2, 2), 3.0))
    bias = torch.nn.Parameter(torch.ones(2))
    weight.grad = torch.ones(2, 2)
    bias.grad = torch.ones(2)
    LARS([weight, bias], lr=1.0, momentum=0.0, weight_decay=0.0, eta=0.1).step()
    # trust = eta |w| / |g| = 0.1 * 6 / 2 = 0.3, applied to the matrix only
    assert torch.allclose(weight, torch.full((2, 2), 3.0 - 0.3))
    assert torch.allclose(bias, torch.zeros(2))


def test_make_optimizer_follows_config(tiny_config):
    params = [torch.nn.Parameter(torch.zeros(3))]
    assert isinstance(make_optimizer(params, tiny_config(optimizer="lars")), LARS)
    adamw = make_optimizer(params, tiny_config(optimizer="adamw", lr=0.5))
    assert isinstance(adamw, torch.optim.AdamW)
    assert adamw.param_groups[0]["lr"] == 0.5
