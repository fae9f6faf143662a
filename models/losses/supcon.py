"""Supervised contrastive loss (Khosla et al. 2020), the fine-tuning cluster term."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def supcon_loss(
    z: torch.Tensor, labels: torch.Tensor, temperature: float = 0.2
) -> torch.Tensor:
    """Supervised contrastive loss (Khosla et al. 2020, ``L_out``).

    Parameters
    ----------
    z : Tensor
        ``(M, D)`` projections (normalised here).
    labels : Tensor
        ``(M,)`` integer labels; samples with equal labels are positives.
    temperature : float
        Softmax temperature (> 0).

    Returns
    -------
    Tensor
        Scalar float32: the mean over anchors that have at least one
        positive (0 if none has).

    Raises
    ------
    ValueError
        If ``labels`` is not one label per row of ``z``.
    """
    if z.ndim != 2 or labels.shape != (z.shape[0],):
        msg = f"z {tuple(z.shape)} and labels {tuple(labels.shape)} do not match"
        raise ValueError(msg)
    z = F.normalize(z.float(), dim=1)
    logits = z @ z.T / temperature
    eye = torch.eye(len(z), dtype=torch.bool, device=z.device)
    logits = logits.masked_fill(eye, float("-inf"))
    log_prob = logits - torch.logsumexp(logits, dim=1, keepdim=True)
    positive = (labels[:, None] == labels[None, :]) & ~eye
    n_pos = positive.sum(dim=1)
    has = n_pos > 0
    if not has.any():
        return z.sum() * 0.0
    mean_log_prob = (log_prob.masked_fill(~positive, 0.0)).sum(dim=1)[has] / n_pos[has]
    return -mean_log_prob.mean()
