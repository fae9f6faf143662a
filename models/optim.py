"""Optimisers and schedules of training: LARS, AdamW, warm-up + cosine, EMA momentum."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import torch
from torch import nn

from models.config import TrainConfig


class LARS(torch.optim.Optimizer):
    """SGD with momentum and layer-wise trust ratio (You et al. 2017).

    Biases and normalisation parameters (1-D tensors) get neither weight decay
    nor the trust ratio, as in SimCLR.

    Parameters
    ----------
    params : iterable of Parameter or dict
        What to optimise (as for any :class:`torch.optim.Optimizer`).
    lr : float
        Learning rate.
    momentum : float
        Momentum of the update buffer.
    weight_decay : float
        L2 penalty added to the gradient of multi-dimensional tensors.
    eta : float
        Trust coefficient: the step is ``eta * |w| / |g|`` times the gradient.
    """

    def __init__(
        self,
        params: Iterable[nn.Parameter] | Iterable[dict],
        lr: float,
        momentum: float = 0.9,
        weight_decay: float = 1e-6,
        eta: float = 1e-3,
    ) -> None:
        super().__init__(
            params,
            {"lr": lr, "momentum": momentum, "weight_decay": weight_decay, "eta": eta},
        )

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> None:  # noqa: D102
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                grad = p.grad
                if p.ndim > 1:
                    grad = grad.add(p, alpha=group["weight_decay"])
                    w_norm, g_norm = torch.norm(p), torch.norm(grad)
                    trust = torch.where(
                        (w_norm > 0) & (g_norm > 0),
                        group["eta"] * w_norm / g_norm,
                        torch.ones_like(w_norm),
                    )
                    grad = grad.mul(trust)
                buf = self.state[p].setdefault("momentum_buffer", torch.zeros_like(p))
                buf.mul_(group["momentum"]).add_(grad)
                p.add_(buf, alpha=-group["lr"])
        return None


def make_optimizer(
    params: list[nn.Parameter], config: TrainConfig
) -> torch.optim.Optimizer:
    """The optimiser ``config.optimizer`` names (``"lars"`` or ``"adamw"``).

    Parameters
    ----------
    params : list of Parameter
        Trainable parameters, in a fixed order (optimiser state is saved by index).
    config : TrainConfig
        Supplies ``optimizer``, ``lr`` and ``weight_decay``.

    Returns
    -------
    torch.optim.Optimizer
    """
    if config.optimizer == "lars":
        return LARS(params, lr=config.lr, weight_decay=config.weight_decay)
    return torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)


def lr_at(step: int, total_steps: int, warmup_steps: int, base_lr: float) -> float:
    """Linear warm-up to ``base_lr`` then cosine decay to ``1e-3 * base_lr``.

    Parameters
    ----------
    step : int
        Optimiser steps taken so far (0-based).
    total_steps : int
        Steps of the whole run.
    warmup_steps : int
        Steps of the linear warm-up (0 for none).
    base_lr : float
        Peak learning rate.

    Returns
    -------
    float
        The learning rate of ``step``.
    """
    if warmup_steps > 0 and step < warmup_steps:
        return base_lr * (step + 1) / warmup_steps
    span = max(1, total_steps - warmup_steps)
    progress = min(1.0, (step - warmup_steps) / span)
    return base_lr * (1e-3 + (1 - 1e-3) * 0.5 * (1 + math.cos(math.pi * progress)))


def set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    """Give every parameter group of ``optimizer`` the learning rate ``lr``."""
    for group in optimizer.param_groups:
        group["lr"] = lr


def byol_tau(base: float, step: int, total_steps: int) -> float:
    """EMA momentum of BYOL's target rising from ``base`` to 1 on a cosine schedule.

    Parameters
    ----------
    base : float
        Momentum at step 0 (``TrainConfig.byol_tau``).
    step, total_steps : int
        Steps taken and steps of the whole run.

    Returns
    -------
    float
        Momentum in ``[base, 1]``.
    """
    if total_steps <= 0:
        return base
    progress = min(max(step / total_steps, 0.0), 1.0)
    return 1 - (1 - base) * (math.cos(math.pi * progress) + 1) / 2
