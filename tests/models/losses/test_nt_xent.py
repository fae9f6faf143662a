"""Tests of models.losses.nt_xent against a straightforward hand-written reference."""

from __future__ import annotations

import math

import pytest
import torch

from models.losses import nt_xent


def _reference_nt_xent(z1, z2, temperature):
    """Chen et al. 2020 eq. 1 with explicit loops over all 2N anchors."""
    z = torch.cat([z1, z2])
    n2 = z.shape[0]
    n = n2 // 2
    unit = [z[i] / torch.sqrt((z[i] * z[i]).sum()) for i in range(n2)]
    total = 0.0
    for i in range(n2):
        j = (i + n) % n2
        s = [(unit[i] * unit[k]).sum() / temperature for k in range(n2)]
        denom = sum(torch.exp(s[k]) for k in range(n2) if k != i)
        total = total - torch.log(torch.exp(s[j]) / denom)
    return total / n2


@pytest.mark.parametrize("temperature", [0.1, 0.5, 1.0])
def test_nt_xent_value_and_gradients_match_reference(temperature):
    gen = torch.Generator().manual_seed(0)
    z1 = torch.randn(5, 4, generator=gen, dtype=torch.float64, requires_grad=True)
    z2 = torch.randn(5, 4, generator=gen, dtype=torch.float64, requires_grad=True)
    ours = nt_xent(z1, z2, temperature)
    assert ours.dtype == torch.float64
    g1, g2 = torch.autograd.grad(ours, (z1, z2))
    ref = _reference_nt_xent(z1, z2, temperature)
    r1, r2 = torch.autograd.grad(ref, (z1, z2))
    assert ours.item() == pytest.approx(ref.item(), rel=1e-10)
    assert torch.allclose(g1, r1, atol=1e-10)
    assert torch.allclose(g2, r2, atol=1e-10)


def test_nt_xent_is_low_for_aligned_and_log_for_uniform_pairs():
    z = torch.nn.functional.one_hot(torch.arange(8), 8).float()
    # identical positives, orthogonal negatives: loss ~ log(1 + 14 e^{-1/t})
    t = 0.1
    expected = math.log(1 + 14 * math.exp(-1 / t))
    assert float(nt_xent(z, z, t)) == pytest.approx(expected, rel=1e-4)
    # all projections equal: every other sample is as similar -> log(2N - 1)
    same = torch.ones(8, 3)
    assert float(nt_xent(same, same, 0.5)) == pytest.approx(math.log(15), rel=1e-5)


def test_nt_xent_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="equal"):
        nt_xent(torch.zeros(4, 3), torch.zeros(5, 3))
