"""A plain reference SimCLR, written as its recipe says (issue 12), to compare with.

Plain 4-stage CNN (widths 32 -> 256, conv-BN-ReLU, 2x2 max-pool between
stages), 32-px crops, any-angle rotation / flip / scale / shift in one
``affine_grid``, per-band gain and added noise, asinh stretch, NT-Xent with
tau = 0.2, AdamW with a one-cycle schedule. Deliberately independent of the
rest of :mod:`models` (its own normalisation, augmentation and network), so
that ``latentsky bench ssl`` measures our encoder against an outside recipe.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

Hook = Callable[[int, Callable[[np.ndarray], np.ndarray]], dict[str, Any] | None]


def normalise(raw: torch.Tensor) -> torch.Tensor:
    """Sky-subtract and divide by the noise (4-px border median / MAD) per band."""
    n, c, s, _ = raw.shape
    edge = torch.cat([raw[..., :4, :], raw[..., -4:, :]], -2).reshape(n, c, -1)
    med = edge.median(-1).values[..., None, None]
    mad = (edge - med.flatten(2)).abs().median(-1).values[..., None, None]
    return (torch.nan_to_num(raw) - med) / (1.4826 * mad).clamp_min(1e-6)


def views(x: torch.Tensor, crop: int, g: torch.Generator) -> torch.Tensor:
    """One random view per image: rotation, flip, scale, shift, gain, noise, asinh."""
    n = x.shape[0]
    angle = 2 * math.pi * torch.rand(n, generator=g)
    scale = 0.4 + 0.4 * torch.rand(n, generator=g)
    flip = torch.where(torch.rand(n, generator=g) < 0.5, -1.0, 1.0)
    cos, sin = torch.cos(angle) * scale, torch.sin(angle) * scale
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0], theta[:, 0, 1] = cos * flip, -sin
    theta[:, 1, 0], theta[:, 1, 1] = sin * flip, cos
    theta[:, :, 2] = 0.16 * (torch.rand(n, 2, generator=g) - 0.5)
    grid = F.affine_grid(theta, [n, x.shape[1], crop, crop], align_corners=False)
    v = F.grid_sample(x, grid, padding_mode="reflection", align_corners=False)
    v = v * (1 + 0.1 * torch.randn(n, x.shape[1], 1, 1, generator=g))
    v = v + torch.rand(n, 1, 1, 1, generator=g) * torch.randn(v.shape, generator=g)
    return torch.asinh(v / 3)


def centre(x: torch.Tensor, crop: int) -> torch.Tensor:
    """The embed-time input: the centred 60 % of the cutout at ``crop`` pixels."""
    theta = torch.tensor([[0.6, 0, 0], [0, 0.6, 0]]).expand(x.shape[0], 2, 3)
    grid = F.affine_grid(theta, [x.shape[0], x.shape[1], crop, crop], False)
    return torch.asinh(F.grid_sample(x, grid, align_corners=False) / 3)


def network(bands: int) -> tuple[nn.Module, nn.Module]:
    """The plain CNN encoder (256-dim ``h``) and its 2-layer projector."""
    layers: list[nn.Module] = []
    widths = [bands, 32, 64, 128, 256]
    for i, (c_in, c_out) in enumerate(zip(widths[:-1], widths[1:], strict=True)):
        layers += [nn.MaxPool2d(2)] if i else []
        layers += [nn.Conv2d(c_in, c_out, 3, padding=1), nn.BatchNorm2d(c_out)]
        layers += [nn.ReLU(inplace=True)]
    encoder = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten())
    return encoder, nn.Sequential(nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 128))


def nt_xent(z: torch.Tensor, tau: float) -> torch.Tensor:
    """SimCLR's loss of ``2N`` projections (rows i and i + N are positives)."""
    z = F.normalize(z, dim=1)
    n = z.shape[0] // 2
    logits = (z @ z.T / tau).fill_diagonal_(float("-inf"))
    return F.cross_entropy(logits, torch.arange(2 * n).roll(n))


def train_reference_simclr(
    cutouts: np.ndarray,
    *,
    epochs: int = 10,
    batch_size: int = 256,
    crop: int = 32,
    lr: float = 2e-3,
    tau: float = 0.2,
    seed: int = 0,
    on_epoch_end: Hook | None = None,
) -> list[dict[str, Any]]:
    """Train the reference on ``(N, bands, S, S)`` raw cutouts (CPU, float32).

    Returns
    -------
    list of dict
        Per epoch: ``{"epoch", "loss", "seconds", "images_per_s"}`` plus what
        ``on_epoch_end(epoch, encode)`` returned (``encode``: raw cutouts ->
        ``(n, 256)`` unit ``h``).
    """
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    x = normalise(torch.from_numpy(np.ascontiguousarray(cutouts, np.float32)))
    encoder, projector = network(x.shape[1])
    params = [*encoder.parameters(), *projector.parameters()]
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=1e-4)
    steps = len(x) // batch_size
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, lr, total_steps=epochs * steps)

    @torch.no_grad()
    def encode(raw: np.ndarray) -> np.ndarray:
        encoder.eval()
        h = encoder(centre(normalise(torch.from_numpy(np.asarray(raw))), crop))
        encoder.train()
        return F.normalize(h, dim=1).numpy()

    history = []
    for epoch in range(1, epochs + 1):
        t0, losses = time.perf_counter(), []
        for b in torch.randperm(len(x), generator=g)[: steps * batch_size].split(
            batch_size
        ):
            v = views(torch.cat([x[b], x[b]]), crop, g)
            loss = nt_xent(projector(encoder(v)), tau)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            losses.append(float(loss.detach()))
        seconds = time.perf_counter() - t0
        entry = {"epoch": epoch, "loss": float(np.mean(losses)), "seconds": seconds}
        entry["images_per_s"] = steps * batch_size / seconds
        entry.update((on_epoch_end(epoch, encode) or {}) if on_epoch_end else {})
        history.append(entry)
    return history
