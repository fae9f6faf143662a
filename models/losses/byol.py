"""The symmetrised regression loss of BYOL (Grill et al. 2020)."""

from __future__ import annotations

import torch
import torch.nn.functional as F


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
