"""The self-supervised methods as small strategies: SimCLR and BYOL.

A method owns the networks it trains and knows its loss of two views. The
training loop (:mod:`models.train`) only calls :meth:`SSLMethod.loss`, steps the
optimiser over :meth:`SSLMethod.parameters` and then calls
:meth:`SSLMethod.after_step` (BYOL's EMA target update).
"""

from __future__ import annotations

import copy
from typing import Any, ClassVar

import torch
from torch import nn

from models.config import TrainConfig
from models.device import autocast
from models.encoder import MLPHead, SSLModel, build_model
from models.losses import byol_loss, nt_xent
from models.optim import byol_tau


@torch.no_grad()
def ema_update(target: nn.Module, online: nn.Module, tau: float) -> None:
    """``target <- tau * target + (1 - tau) * online`` (parameters); copy buffers.

    Parameters
    ----------
    target, online : Module
        Networks of identical architecture; ``target`` is updated in place.
    tau : float
        EMA momentum in ``[0, 1]`` (1 leaves the target's parameters unchanged).
    """
    for t, o in zip(target.parameters(), online.parameters(), strict=True):
        t.mul_(tau).add_(o.detach(), alpha=1 - tau)
    for t, o in zip(target.buffers(), online.buffers(), strict=True):
        t.copy_(o)


class SSLMethod:
    """The encoder + projector every method trains, and what methods share.

    Parameters
    ----------
    config : TrainConfig
        Architecture and method settings (``bands`` must be set).
    device : torch.device
        Where the networks live; on CUDA they use channels-last memory.
    """

    name: ClassVar[str] = ""

    def __init__(self, config: TrainConfig, device: torch.device) -> None:
        self.config = config
        self.device = device
        self.model: SSLModel = build_model(config).to(device)
        if device.type == "cuda":
            self.model.to(memory_format=torch.channels_last)

    def parameters(self) -> list[nn.Parameter]:
        """Trainable parameters in a fixed order (the optimiser state's order)."""
        return list(self.model.parameters())

    def _inputs(self, v1: torch.Tensor, v2: torch.Tensor) -> torch.Tensor:
        x = torch.cat([v1, v2])
        if self.device.type == "cuda":
            x = x.contiguous(memory_format=torch.channels_last)
        return x

    def loss(self, v1: torch.Tensor, v2: torch.Tensor) -> torch.Tensor:
        """Scalar loss of two ``(N, bands, crop, crop)`` views of one batch."""
        raise NotImplementedError

    def after_step(self, step: int, total: int) -> None:
        """Hook after optimiser step ``step`` of ``total``; nothing by default."""

    def state_dict(self) -> dict[str, Any]:
        """The networks' weights, keyed as the checkpoint stores them."""
        return {"model": self.model.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Load what :meth:`state_dict` returned (e.g. from a checkpoint)."""
        self.model.load_state_dict(state["model"])


class SimCLRMethod(SSLMethod):
    """SimCLR (Chen et al. 2020): NT-Xent between the projections of two views."""

    name = "simclr"

    def loss(self, v1: torch.Tensor, v2: torch.Tensor) -> torch.Tensor:
        """NT-Xent of the two views' projections ``z`` (``config.temperature``)."""
        n = v1.shape[0]
        with autocast(self.device):
            _, z = self.model(self._inputs(v1, v2))
            return nt_xent(z[:n], z[n:], self.config.temperature)


class BYOLMethod(SSLMethod):
    """BYOL (Grill et al. 2020): a predictor regresses an EMA target's projections."""

    name = "byol"

    def __init__(self, config: TrainConfig, device: torch.device) -> None:
        super().__init__(config, device)
        self.predictor = MLPHead(config.proj_dim, config.pred_hidden, config.proj_dim)
        self.predictor.to(device)
        self.target: SSLModel = copy.deepcopy(self.model).requires_grad_(False)
        if device.type == "cuda":
            self.target.to(memory_format=torch.channels_last)

    def parameters(self) -> list[nn.Parameter]:
        """Online network then predictor (the target is not trained by gradients)."""
        return super().parameters() + list(self.predictor.parameters())

    def loss(self, v1: torch.Tensor, v2: torch.Tensor) -> torch.Tensor:
        """Symmetrised BYOL loss of the predictions against the target's projections."""
        n = v1.shape[0]
        x = self._inputs(v1, v2)
        with autocast(self.device):
            _, z = self.model(x)
            p = self.predictor(z)
            with torch.no_grad():
                _, t = self.target(x)
            return byol_loss(p[:n], p[n:], t[:n], t[n:])

    def after_step(self, step: int, total: int) -> None:
        """Move the target towards the online network (momentum from ``byol_tau``)."""
        ema_update(self.target, self.model, byol_tau(self.config.byol_tau, step, total))

    def state_dict(self) -> dict[str, Any]:
        """Online model, predictor and target weights."""
        return {
            **super().state_dict(),
            "predictor": self.predictor.state_dict(),
            "target": self.target.state_dict(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Load online model, predictor and target weights."""
        super().load_state_dict(state)
        self.predictor.load_state_dict(state["predictor"])
        self.target.load_state_dict(state["target"])


METHOD_CLASSES: dict[str, type[SSLMethod]] = {
    SimCLRMethod.name: SimCLRMethod,
    BYOLMethod.name: BYOLMethod,
}


def make_method(config: TrainConfig, device: torch.device) -> SSLMethod:
    """The :class:`SSLMethod` that ``config.method`` names, on ``device``."""
    return METHOD_CLASSES[config.method](config, device)
