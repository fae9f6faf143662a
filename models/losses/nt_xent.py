"""Self-supervised losses: NT-Xent (SimCLR), BYOL regression loss and EMA target."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def nt_xent(
    z1: torch.Tensor, z2: torch.Tensor, temperature: float = 0.2
) -> torch.Tensor:
    """Normalised-temperature cross-entropy of SimCLR (Chen et al. 2020).

    For the ``2N`` projections, with ``s_ij = cos(z_i, z_j) / temperature``,
    ``l(i, j) = -log(exp(s_ij) / sum_{k != i} exp(s_ik))`` and the loss is the
    mean of ``l`` over both orderings of every positive pair.

    Parameters
    ----------
    z1, z2 : Tensor
        ``(N, D)`` projections of the two views; row ``i`` of each is a positive pair.
    temperature : float
        Softmax temperature ``tau`` (> 0).

    Returns
    -------
    Tensor
        Scalar loss (float32 for half-precision inputs, else their dtype).
    """
    if z1.shape != z2.shape or z1.ndim != 2:
        msg = (
            f"z1 {tuple(z1.shape)} and z2 {tuple(z2.shape)} must be equal (N, D) shapes"
        )
        raise ValueError(msg)
    n = z1.shape[0]
    z = torch.cat([z1, z2])
    if z.dtype in (torch.float16, torch.bfloat16):  # softmax in at least float32
        z = z.float()
    z = F.normalize(z, dim=1)
    logits = z @ z.T / temperature
    self_mask = torch.eye(2 * n, dtype=torch.bool, device=z.device)
    logits = logits.masked_fill(self_mask, float("-inf"))
    targets = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)]).to(z.device)
    return F.cross_entropy(logits, targets)


def byol_loss(
    p1: torch.Tensor, p2: torch.Tensor, t1: torch.Tensor, t2: torch.Tensor
) -> torch.Tensor:
    """Symmetrised BYOL loss ``2 - 2 cos(p_a, t_b)`` (Grill et al. 2020).

    Parameters
    ----------
    p1, p2 : Tensor
        ``(N, D)`` online predictions for views 1 and 2.
    t1, t2 : Tensor
        ``(N, D)`` target projections for views 1 and 2 (gradients are stopped).

    Returns
    -------
    Tensor
        Scalar float32 loss in ``[0, 8]``.
    """

    def one(p: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        cos = F.cosine_similarity(p.float(), t.detach().float(), dim=1)
        return (2 - 2 * cos).mean()

    return one(p1, t2) + one(p2, t1)


def byol_tau(base: float, step: int, total_steps: int) -> float:
    """EMA momentum rising from ``base`` to 1 on a cosine schedule."""
    if total_steps <= 0:
        return base
    progress = min(max(step / total_steps, 0.0), 1.0)
    return 1 - (1 - base) * (math.cos(math.pi * progress) + 1) / 2


@torch.no_grad()
def ema_update(target: nn.Module, online: nn.Module, tau: float) -> None:
    """``target <- tau * target + (1 - tau) * online`` (parameters); copy buffers."""
    for t, o in zip(target.parameters(), online.parameters(), strict=True):
        t.mul_(tau).add_(o.detach(), alpha=1 - tau)
    for t, o in zip(target.buffers(), online.buffers(), strict=True):
        t.copy_(o)
