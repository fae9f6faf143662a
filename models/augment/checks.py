"""Shared helpers of the augmentations: batch validation and uniform draws."""

from __future__ import annotations

import torch


def uniform(
    n: int,
    lo: float,
    hi: float,
    generator: torch.Generator | None,
    device: torch.device,
) -> torch.Tensor:
    """``(n,)`` draws from ``U(lo, hi)`` on ``device``."""
    return lo + (hi - lo) * torch.rand(n, generator=generator, device=device)


def check_batch(x: torch.Tensor) -> None:
    """Raise unless ``x`` is a float ``(N, bands, S, S)`` batch of square images.

    Raises
    ------
    ValueError
        For another rank, non-square images or an integer dtype.
    """
    if x.ndim != 4 or x.shape[-1] != x.shape[-2]:
        msg = f"expected cutouts of shape (N, bands, S, S), got {tuple(x.shape)}"
        raise ValueError(msg)
    if not x.is_floating_point():
        msg = f"expected a float tensor, got {x.dtype}"
        raise ValueError(msg)
