"""Random photometric augmentations of linearised cutouts: gain, noise, contrast."""

from __future__ import annotations

import torch

from models.augment.checks import check_batch, uniform


def random_gain(
    x: torch.Tensor, strength: float, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Multiply each band of each image by ``1 + strength * N(0, 1)`` (colour)."""
    check_batch(x)
    n, c = x.shape[:2]
    g = 1.0 + strength * torch.randn(n, c, 1, 1, generator=generator, device=x.device)
    return x * g.clamp_min(0.1).to(x.dtype)


def random_noise(
    x: torch.Tensor, strength: float, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Add Gaussian noise of ``U(0, strength)`` x the sky sigma per image.

    ``x`` must be linearised (:func:`linearise`), so its sky sigma is 1 and
    the added noise is matched to each image's own noise level.
    """
    check_batch(x)
    n = x.shape[0]
    amp = strength * torch.rand(n, 1, 1, 1, generator=generator, device=x.device)
    noise = torch.randn(x.shape, generator=generator, device=x.device)
    return x + (amp * noise).to(x.dtype)


def random_brightness_contrast(
    x: torch.Tensor,
    brightness: float,
    contrast: float,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """``x * U(1 - contrast, 1 + contrast) + U(-brightness, brightness)`` per image."""
    check_batch(x)
    n = x.shape[0]
    c = uniform(n, 1 - contrast, 1 + contrast, generator, x.device).view(n, 1, 1, 1)
    b = uniform(n, -brightness, brightness, generator, x.device).view(n, 1, 1, 1)
    return x * c.to(x.dtype) + b.to(x.dtype)
