"""Batched, float-safe augmentations of multi-band cutouts (seeds 000 and 002).

Everything works on whole batches of float tensors ``(N, bands, S, S)`` on any
device, drawing randomness from an explicit :class:`torch.Generator` so a run is
reproducible. Sky images have no "up": rotations by any angle and flips are
exact symmetries. All geometric parts (zoom/crop, rotation, flip, shear, aspect,
translation) are composed into one ``(N, 2, 3)`` affine matrix per image and
applied by a single :func:`torch.nn.functional.grid_sample` call.

Pipeline of one view (:class:`ViewAugment`), starting from cutouts already
linearised by :func:`linearise` (sky-subtracted, in units of the sky noise):

1. affine warp to ``crop x crop`` pixels (random region, angle, flip, shear, shift);
2. per-band gain jitter (colour);
3. Gaussian noise up to ``noise`` x the image's own sky sigma;
4. optional asinh stretch;
5. brightness / contrast.

Embedding uses :class:`Preprocess`, the same linearise -> warp (fixed centred
region, no randomness) -> stretch path, so train and embed inputs match.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from models.config import TrainConfig

#: Width in pixels of the border used to estimate the sky level and noise.
BORDER = 4
#: MAD -> Gaussian sigma.
MAD_TO_SIGMA = 1.4826


def _uniform(
    n: int,
    lo: float,
    hi: float,
    generator: torch.Generator | None,
    device: torch.device,
) -> torch.Tensor:
    return lo + (hi - lo) * torch.rand(n, generator=generator, device=device)


def _check_batch(x: torch.Tensor) -> None:
    if x.ndim != 4 or x.shape[-1] != x.shape[-2]:
        msg = f"expected cutouts of shape (N, bands, S, S), got {tuple(x.shape)}"
        raise ValueError(msg)
    if not x.is_floating_point():
        msg = f"expected a float tensor, got {x.dtype}"
        raise ValueError(msg)


# ---------------------------------------------------------------- photometry
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
    _check_batch(x)
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
    _check_batch(x)
    x = torch.nan_to_num(x.float(), nan=0.0, posinf=0.0, neginf=0.0)
    level, sigma = sky_stats(x, border)
    return (x - level) / sigma


def asinh_stretch(x: torch.Tensor, softening: float = 3.0) -> torch.Tensor:
    """``asinh(x / softening)``: linear near the noise, logarithmic for bright flux."""
    return torch.asinh(x / softening)


def random_gain(
    x: torch.Tensor, strength: float, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Multiply each band of each image by ``1 + strength * N(0, 1)`` (colour)."""
    _check_batch(x)
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
    _check_batch(x)
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
    _check_batch(x)
    n = x.shape[0]
    c = _uniform(n, 1 - contrast, 1 + contrast, generator, x.device).view(n, 1, 1, 1)
    b = _uniform(n, -brightness, brightness, generator, x.device).view(n, 1, 1, 1)
    return x * c.to(x.dtype) + b.to(x.dtype)


# ------------------------------------------------------------------ geometry
def affine_theta(
    scale: torch.Tensor,
    angle: torch.Tensor | None = None,
    flip: torch.Tensor | None = None,
    shear: torch.Tensor | None = None,
    aspect: torch.Tensor | None = None,
    shift: torch.Tensor | None = None,
) -> torch.Tensor:
    """Compose per-image affine matrices for :func:`torch.nn.functional.affine_grid`.

    The output image samples the input region ``shift + scale * R F S A [x, y]``
    in normalised coordinates (the input spans ``[-1, 1]``).

    Parameters
    ----------
    scale : Tensor
        ``(N,)`` side of the sampled region as a fraction of the input side
        (1 = whole cutout, 0.5 = zoom in 2x).
    angle : Tensor, optional
        ``(N,)`` rotation in radians (counter-clockwise as in ``torch.rot90``).
    flip : Tensor, optional
        ``(N,)`` bool, mirror left-right before rotating.
    shear : Tensor, optional
        ``(N,)`` shear angle in radians.
    aspect : Tensor, optional
        ``(N,)`` log aspect ratio of the region.
    shift : Tensor, optional
        ``(N, 2)`` centre of the region in normalised coordinates.

    Returns
    -------
    Tensor
        ``(N, 2, 3)`` float32 matrices.
    """
    n = scale.shape[0]
    dev, dt = scale.device, scale.dtype
    eye = torch.eye(2, device=dev, dtype=dt).expand(n, 2, 2)
    m = eye.clone()
    if aspect is not None:
        a = torch.exp(aspect.to(dt))
        m = torch.diag_embed(torch.stack([a.sqrt(), 1 / a.sqrt()], -1)) @ m
    if shear is not None:
        sh = eye.clone()
        sh[:, 0, 1] = torch.tan(shear.to(dt))
        m = sh @ m
    if flip is not None:
        sign = 1.0 - 2.0 * flip.to(dt)
        m = torch.diag_embed(torch.stack([sign, torch.ones_like(sign)], -1)) @ m
    if angle is not None:
        cos, sin = torch.cos(angle.to(dt)), torch.sin(angle.to(dt))
        # affine_grid maps output -> input, so the image turns by -angle in
        # array coordinates; the sign makes +90 degrees equal torch.rot90(k=1).
        rot = torch.stack(
            [torch.stack([cos, -sin], -1), torch.stack([sin, cos], -1)], -2
        )
        m = rot @ m
    m = m * scale.view(n, 1, 1)
    t = shift.to(dt) if shift is not None else torch.zeros(n, 2, device=dev, dtype=dt)
    return torch.cat([m, t.view(n, 2, 1)], dim=-1).float()


def warp(x: torch.Tensor, theta: torch.Tensor, out_size: int) -> torch.Tensor:
    """Resample ``x`` through ``theta`` into ``(N, bands, out_size, out_size)``.

    Bilinear interpolation, reflection padding (outside the cutout looks like
    the sky near its edge rather than a noise-free zero), ``align_corners=False``
    so that pixel centres map to pixel centres for exact 90-degree turns and flips.
    """
    _check_batch(x)
    n, c = x.shape[:2]
    grid = F.affine_grid(
        theta.to(x.dtype), [n, c, out_size, out_size], align_corners=False
    )
    return F.grid_sample(
        x, grid, mode="bilinear", padding_mode="reflection", align_corners=False
    )


def rotate(x: torch.Tensor, degrees: float) -> torch.Tensor:
    """Rotate every image by ``degrees`` counter-clockwise, keeping the size."""
    n = x.shape[0]
    angle = torch.full(
        (n,), math.radians(degrees), device=x.device, dtype=torch.float64
    )
    theta = affine_theta(
        torch.ones(n, device=x.device, dtype=torch.float64), angle=angle
    )
    return warp(x, theta, x.shape[-1])


def random_flip(
    x: torch.Tensor, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Exact random left-right and up-down flips (pixel permutations, no resampling)."""
    _check_batch(x)
    n = x.shape[0]
    lr = torch.rand(n, generator=generator, device=x.device) < 0.5
    ud = torch.rand(n, generator=generator, device=x.device) < 0.5
    x = torch.where(lr.view(n, 1, 1, 1), x.flip(-1), x)
    return torch.where(ud.view(n, 1, 1, 1), x.flip(-2), x)


def random_rot90(
    x: torch.Tensor, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Exact random rotation by a multiple of 90 degrees per image."""
    _check_batch(x)
    k = torch.randint(0, 4, (x.shape[0],), generator=generator, device=x.device)
    out = x.clone()
    for turns in range(1, 4):
        sel = k == turns
        if sel.any():
            out[sel] = torch.rot90(x[sel], turns, dims=(-2, -1))
    return out


def random_affine(
    x: torch.Tensor,
    out_size: int | None = None,
    *,
    scale: tuple[float, float] = (1.0, 1.0),
    aspect: float = 0.0,
    rotate: bool = False,
    flip: bool = False,
    shear: float = 0.0,
    translate: float = 0.0,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Random zoom/crop, aspect, rotation, flip, shear and shift in one resampling.

    Parameters
    ----------
    x : Tensor
        ``(N, bands, S, S)`` float images.
    out_size : int, optional
        Output side in pixels (default ``S``).
    scale : (float, float)
        Range of the sampled region's side as a fraction of ``S`` (zoom).
    aspect : float
        Log aspect ratio drawn from ``U(-aspect, aspect)``.
    rotate : bool
        Rotate by an angle drawn from ``U(0, 2 pi)``.
    flip : bool
        Mirror with probability 1/2.
    shear : float
        Shear angle drawn from ``U(-shear, shear)`` radians.
    translate : float
        Shift of the region centre drawn from ``U(-translate, translate)`` x ``S``
        along each axis.
    generator : torch.Generator, optional
        Source of randomness (on ``x``'s device).

    Returns
    -------
    Tensor
        ``(N, bands, out_size, out_size)``, same dtype as ``x``.
    """
    _check_batch(x)
    n, dev = x.shape[0], x.device
    out_size = out_size or x.shape[-1]
    g = generator
    region = _uniform(n, scale[0], scale[1], g, dev)
    angle = _uniform(n, 0.0, 2 * math.pi, g, dev) if rotate else None
    flips = (torch.rand(n, generator=g, device=dev) < 0.5) if flip else None
    shears = _uniform(n, -shear, shear, g, dev) if shear else None
    aspects = _uniform(n, -aspect, aspect, g, dev) if aspect else None
    shift = None
    if translate:
        # the input spans 2 normalised units, so a fraction f of S is 2 f
        shift = _uniform(2 * n, -2 * translate, 2 * translate, g, dev).view(n, 2)
    theta = affine_theta(region, angle, flips, shears, aspects, shift)
    return warp(x, theta, out_size)


def resized_crop_theta(
    n: int,
    scale: tuple[float, float] = (0.4, 1.0),
    aspect: float = 0.15,
    generator: torch.Generator | None = None,
    device: torch.device | str = "cpu",
) -> torch.Tensor:
    """Affine matrices of random regions lying fully inside the image.

    Returns
    -------
    Tensor
        ``(n, 2, 3)``: diagonal half-sizes ``(hx, hy)`` (side fraction ``scale``,
        log aspect ``U(-aspect, aspect)``, clamped to 1) and a centre shift with
        ``|shift| <= 1 - half`` on each axis.
    """
    device = torch.device(device)
    region = _uniform(n, scale[0], scale[1], generator, device)
    aspects = (
        _uniform(n, -aspect, aspect, generator, device)
        if aspect
        else torch.zeros(n, device=device)
    )
    half = region.view(n, 1) * torch.stack(
        [torch.exp(aspects / 2), torch.exp(-aspects / 2)], -1
    )
    half = half.clamp(max=1.0)
    shift = (1 - half) * (2 * torch.rand(n, 2, generator=generator, device=device) - 1)
    theta = torch.zeros(n, 2, 3, device=device)
    theta[:, 0, 0], theta[:, 1, 1] = half[:, 0], half[:, 1]
    theta[:, :, 2] = shift
    return theta


def random_resized_crop(
    x: torch.Tensor,
    out_size: int,
    scale: tuple[float, float] = (0.4, 1.0),
    aspect: float = 0.15,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Crop a random region (side ``scale`` x ``S``) fully inside the image, resize it.

    Returns
    -------
    Tensor
        ``(N, bands, out_size, out_size)``.
    """
    _check_batch(x)
    theta = resized_crop_theta(x.shape[0], scale, aspect, generator, x.device)
    return warp(x, theta, out_size)


def centre_view(x: torch.Tensor, out_size: int, fraction: float) -> torch.Tensor:
    """Centred region (side ``fraction`` x ``S``) resized to ``out_size`` pixels."""
    n = x.shape[0]
    theta = affine_theta(torch.full((n,), float(fraction), device=x.device))
    return warp(x, theta, out_size)


# ------------------------------------------------------------------ pipelines
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
        """Return ``(view_1, view_2)``, each ``(N, bands, crop, crop)``."""
        return self.augment(x, generator), self.augment(x, generator)


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
