"""Random and fixed geometric transforms, composed into one affine resampling.

Sky images have no "up": rotations by any angle and flips are exact
symmetries. All geometric parts (zoom/crop, rotation, flip, shear, aspect,
translation) are composed into one ``(N, 2, 3)`` affine matrix per image and
applied by a single :func:`torch.nn.functional.grid_sample` call.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from models.augment.checks import check_batch, uniform


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
    check_batch(x)
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
    check_batch(x)
    n = x.shape[0]
    lr = torch.rand(n, generator=generator, device=x.device) < 0.5
    ud = torch.rand(n, generator=generator, device=x.device) < 0.5
    x = torch.where(lr.view(n, 1, 1, 1), x.flip(-1), x)
    return torch.where(ud.view(n, 1, 1, 1), x.flip(-2), x)


def random_rot90(
    x: torch.Tensor, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Exact random rotation by a multiple of 90 degrees per image."""
    check_batch(x)
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
    check_batch(x)
    n, dev = x.shape[0], x.device
    out_size = out_size or x.shape[-1]
    g = generator
    region = uniform(n, scale[0], scale[1], g, dev)
    angle = uniform(n, 0.0, 2 * math.pi, g, dev) if rotate else None
    flips = (torch.rand(n, generator=g, device=dev) < 0.5) if flip else None
    shears = uniform(n, -shear, shear, g, dev) if shear else None
    aspects = uniform(n, -aspect, aspect, g, dev) if aspect else None
    shift = None
    if translate:
        # the input spans 2 normalised units, so a fraction f of S is 2 f
        shift = uniform(2 * n, -2 * translate, 2 * translate, g, dev).view(n, 2)
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
    region = uniform(n, scale[0], scale[1], generator, device)
    aspects = (
        uniform(n, -aspect, aspect, generator, device)
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
    check_batch(x)
    theta = resized_crop_theta(x.shape[0], scale, aspect, generator, x.device)
    return warp(x, theta, out_size)


def centre_view(x: torch.Tensor, out_size: int, fraction: float) -> torch.Tensor:
    """Centred region (side ``fraction`` x ``S``) resized to ``out_size`` pixels."""
    n = x.shape[0]
    theta = affine_theta(torch.full((n,), float(fraction), device=x.device))
    return warp(x, theta, out_size)
