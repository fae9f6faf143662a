"""Contrastive loss over user-marked pairs, with marked hard negatives.

The fine-tuning term of the Similar tab's +/- marks
(:mod:`models.feedback`). Each anchor ``i`` has a set of positives ``P(i)``
(its own second augmented view, and the views of every source the user
marked "+" with it) and is contrasted against every other sample of the
batch, among them the sources the user marked "-" with it::

    L = mean_i  -1/|P(i)| sum_{p in P(i)} log( exp(s_ip) / D_i )
    D_i = sum_{a != i} w_ia exp(s_ia),   w_ia = negative_weight if (i, a) is "-"
                                                 else 1

with ``s = cos / temperature``. This is the multi-positive InfoNCE of
supervised contrastive learning (Khosla et al. 2020) with explicitly
labelled hard negatives added to the denominator, as MoCHi (Kalantidis et
al. 2020) adds hard negatives and Robinson et al. (2021) up-weight them. A
denominator term rather than a margin (Hadsell et al. 2006) because the
InfoNCE gradient on a negative is its softmax share: a "-" result the model
still ranks close to the query (which is why the user saw and rejected it)
is pushed hardest, one already far away is left alone, and no margin has to
be tuned to the scale of the embedding.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def _check_masks(
    h: torch.Tensor, positive: torch.Tensor, hard_negative: torch.Tensor | None
) -> None:
    m = h.shape[0] if h.ndim == 2 else -1
    if h.ndim != 2 or positive.shape != (m, m):
        msg = f"embeddings {tuple(h.shape)} and positive mask {tuple(positive.shape)}"
        raise ValueError(msg + " do not match: expected (M, D) and (M, M)")
    if hard_negative is not None:
        if hard_negative.shape != (m, m):
            msg = f"hard-negative mask {tuple(hard_negative.shape)} is not ({m}, {m})"
            raise ValueError(msg)
        if (hard_negative & positive).any():
            raise ValueError("a pair is marked both positive and hard negative")


def marked_pair_loss(
    h: torch.Tensor,
    positive: torch.Tensor,
    hard_negative: torch.Tensor | None = None,
    temperature: float = 0.2,
    negative_weight: float = 1.0,
) -> torch.Tensor:
    """Multi-positive InfoNCE with marked hard negatives (see the module).

    Parameters
    ----------
    h : Tensor
        ``(M, D)`` embeddings (normalised here).
    positive : Tensor
        ``(M, M)`` bool: ``positive[i, j]`` when ``j`` is a positive of anchor
        ``i``; the diagonal is ignored.
    hard_negative : Tensor, optional
        ``(M, M)`` bool: pairs marked "-" (disjoint from ``positive``).
    temperature : float
        Softmax temperature (> 0).
    negative_weight : float
        Weight ``w`` (> 0) of a hard negative in the denominator; 1 counts it
        like any other sample of the batch.

    Returns
    -------
    Tensor
        Scalar float32: the mean over anchors with at least one positive (0
        when none has one).

    Raises
    ------
    ValueError
        If the shapes do not match, a pair is both positive and hard
        negative, or ``temperature`` / ``negative_weight`` is not positive.
    """
    _check_masks(h, positive, hard_negative)
    if temperature <= 0 or negative_weight <= 0:
        msg = (
            f"temperature ({temperature}) and negative_weight ({negative_weight}) "
            "must be positive"
        )
        raise ValueError(msg)
    h = F.normalize(h.float(), dim=1)
    eye = torch.eye(len(h), dtype=torch.bool, device=h.device)
    logits = (h @ h.T / temperature).masked_fill(eye, float("-inf"))
    denominator = logits
    if hard_negative is not None and negative_weight != 1.0:
        denominator = logits + math.log(negative_weight) * hard_negative.float()
    log_prob = logits - torch.logsumexp(denominator, dim=1, keepdim=True)
    positive = positive.bool() & ~eye
    n_pos = positive.sum(dim=1)
    has = n_pos > 0
    if not has.any():
        return h.sum() * 0.0
    summed = log_prob.masked_fill(~positive, 0.0).sum(dim=1)
    return -(summed[has] / n_pos[has]).mean()
