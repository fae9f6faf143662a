"""Deterministic input normalisation: sky level and noise, linearising, stretch.

Every cutout is brought to units of its own sky noise (:func:`linearise`)
before any augmentation or embedding, so bright and faint surveys look alike
to the network.
"""

from __future__ import annotations

import torch

from models.augment.checks import check_batch

#: Width in pixels of the border used to estimate the sky level and noise.
BORDER = 4
#: MAD -> Gaussian sigma.
MAD_TO_SIGMA = 1.4826


def sky_stats(
    x: torch.Tensor, border: int = BORDER
) -> tuple[torch.Tensor, torch.Tensor]:
    """Sky level and noise of each image and band from its border pixels.

    Parameters
    ----------
    x : Tensor
        ``(N, bands, S, S)`` float cutouts (finite).
    border : int
        Width of the border frame in pixels.

    Returns
    -------
    level, sigma : Tensor
        ``(N, bands, 1, 1)`` median and robust standard deviation
        (1.4826 x median absolute deviation) of the border pixels. ``sigma`` is
        floored at ``1e-3`` of the band's peak absolute value (and ``1e-12``) so
        noise-free images do not divide by zero.
    """
    check_batch(x)
    n, c, s, _ = x.shape
    b = max(1, min(border, s // 4))
    frame = torch.cat(
        [
            x[..., :b, :].reshape(n, c, -1),
            x[..., -b:, :].reshape(n, c, -1),
            x[..., b:-b, :b].reshape(n, c, -1),
            x[..., b:-b, -b:].reshape(n, c, -1),
        ],
        dim=-1,
    )
    level = frame.median(dim=-1).values
    mad = (frame - level[..., None]).abs().median(dim=-1).values
    peak = x.reshape(n, c, -1).abs().amax(dim=-1)
    sigma = torch.maximum(MAD_TO_SIGMA * mad, 1e-3 * peak).clamp_min(1e-12)
    return level[..., None, None], sigma[..., None, None]


def linearise(x: torch.Tensor, border: int = BORDER) -> torch.Tensor:
    """Replace non-finite pixels by 0, subtract the sky, divide by the sky noise.

    Parameters
    ----------
    x : Tensor
        ``(N, bands, S, S)`` float cutouts in any flux unit.

    Returns
    -------
    Tensor
        Same shape, float32, in units of each image's own sky sigma per band.
    """
    check_batch(x)
    x = torch.nan_to_num(x.float(), nan=0.0, posinf=0.0, neginf=0.0)
    level, sigma = sky_stats(x, border)
    return (x - level) / sigma


def asinh_stretch(x: torch.Tensor, softening: float = 3.0) -> torch.Tensor:
    """``asinh(x / softening)``: linear near the noise, logarithmic for bright flux."""
    return torch.asinh(x / softening)
