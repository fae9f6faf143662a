"""The augmentation pipelines: one random training view, two views, embed input.

Pipeline of one view (:class:`ViewAugment`), starting from cutouts already
linearised by :func:`models.augment.preprocess.linearise` (sky-subtracted, in
units of the sky noise):

1. affine warp to ``crop x crop`` pixels (random region, angle, flip, shear, shift);
2. per-band gain jitter (colour);
3. Gaussian noise up to ``noise`` x the image's own sky sigma;
4. optional asinh stretch;
5. brightness / contrast.

Embedding uses :class:`Preprocess`, the same linearise -> warp (fixed centred
region, no randomness) -> stretch path, so train and embed inputs match.
"""

from __future__ import annotations

import torch

from models.augment.geometry import centre_view, random_affine
from models.augment.photometry import (
    random_brightness_contrast,
    random_gain,
    random_noise,
)
from models.augment.preprocess import asinh_stretch, linearise
from models.config import TrainConfig


class ViewAugment:
    """One random view of linearised cutouts, as a :class:`TrainConfig` says."""

    def __init__(self, config: TrainConfig) -> None:
        self.config = config

    def __call__(
        self, x: torch.Tensor, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """Augment linearised ``(N, bands, S, S)`` to ``(N, bands, crop, crop)``."""
        c = self.config
        v = random_affine(
            x,
            c.crop,
            scale=(c.crop_min, c.crop_max),
            aspect=c.aspect,
            rotate=c.rotate,
            flip=c.flip,
            shear=c.shear,
            translate=c.translate,
            generator=generator,
        )
        if c.gain:
            v = random_gain(v, c.gain, generator)
        if c.noise:
            v = random_noise(v, c.noise, generator)
        if c.stretch == "asinh":
            v = asinh_stretch(v, c.stretch_softening)
        if c.brightness or c.contrast:
            v = random_brightness_contrast(v, c.brightness, c.contrast, generator)
        return v


class TwoViews:
    """Two independent random views of the same batch (the SimCLR/BYOL positives)."""

    def __init__(self, augment: ViewAugment) -> None:
        self.augment = augment

    def __call__(
        self,
        x: torch.Tensor,
        generator: torch.Generator | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Return ``(view_1, view_2)``, each ``(N, bands, crop, crop)``.

        Both views come from one call on the doubled batch: one
        ``affine_grid``/``grid_sample`` and one draw per augmentation for the
        whole step, instead of two (each image still gets its own parameters).
        """
        v1, v2 = self.augment(torch.cat([x, x]), generator).chunk(2)
        return v1, v2


class Preprocess:
    """The deterministic embed-time input: linearise, centred region, stretch."""

    def __init__(self, config: TrainConfig) -> None:
        self.config = config

    def __call__(self, raw: torch.Tensor) -> torch.Tensor:
        """Map raw ``(N, bands, S, S)`` cutouts to ``(N, bands, crop, crop)`` inputs."""
        c = self.config
        v = centre_view(linearise(raw), c.crop, c.eval_fraction)
        if c.stretch == "asinh":
            v = asinh_stretch(v, c.stretch_softening)
        return v
