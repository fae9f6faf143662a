"""Tests of models.loss against straightforward hand-written references."""

from __future__ import annotations

import copy
import math

import pytest

torch = pytest.importorskip("torch")

from models.loss import byol_loss, byol_tau, ema_update, nt_xent  # noqa: E402


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


def test_ema_update_and_tau_schedule():
    online = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.BatchNorm1d(2))
    target = copy.deepcopy(online)
    with torch.no_grad():
        for p in online.parameters():
            p.add_(1.0)
    before = [p.clone() for p in target.parameters()]
    ema_update(target, online, 0.9)
    for b, t, o in zip(before, target.parameters(), online.parameters(), strict=True):
        assert torch.allclose(t, 0.9 * b + 0.1 * o)
    assert byol_tau(0.99, 0, 100) == pytest.approx(0.99)
    assert byol_tau(0.99, 100, 100) == pytest.approx(1.0)
    assert 0.99 < byol_tau(0.99, 50, 100) < 1.0
