"""NT-Xent, the normalised-temperature cross-entropy of SimCLR (Chen et al. 2020)."""

from __future__ import annotations

import torch
import torch.nn.functional as F


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

    Raises
    ------
    ValueError
        If ``z1`` and ``z2`` are not two ``(N, D)`` tensors of the same shape.
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
