"""One epoch of self-supervised training: :func:`train_one_epoch`.

Each step sets the scheduled learning rate, draws two augmented views of a
batch, takes the method's loss (plus an optional extra term) and steps the
optimiser. A non-finite loss skips its step; ``max_bad_steps`` in a row raise
:class:`~models.errors.TrainingError`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from models.augment import TwoViews, linearise
from models.config import TrainConfig
from models.data import ShardBatches
from models.encoder import SSLModel
from models.errors import TrainingError
from models.memory import MemoryBatches
from models.methods import SSLMethod
from models.optim import lr_at, set_lr

log = logging.getLogger(__name__)

Progress = Callable[[dict[str, Any]], None]
ExtraLoss = Callable[[SSLModel, int], torch.Tensor]


class ProgressReport:
    """Turns each step into the dict a job runner's ``progress`` callback gets."""

    def __init__(
        self, callback: Progress, config: TrainConfig, first_step: int, total: int
    ) -> None:
        self.callback = callback
        self.epochs = config.epochs
        self.first_step = first_step
        self.total = total
        self.t_start = time.perf_counter()

    def __call__(self, epoch: int, step: int, loss: float, rate: float) -> None:
        done = step - self.first_step
        elapsed = time.perf_counter() - self.t_start
        self.callback(
            {
                "phase": "train",
                "epoch": epoch + 1,
                "epochs": self.epochs,
                "step": step,
                "steps": self.total,
                "fraction": min(1.0, step / max(self.total, 1)),
                "loss": loss,
                "images_per_s": rate,
                "eta_s": (self.total - step) * elapsed / max(done, 1),
            }
        )


@dataclass
class EpochSetup:
    """What every epoch of one run uses (fixed for the run).

    Attributes
    ----------
    method : SSLMethod
        Networks and loss being trained.
    optimizer : torch.optim.Optimizer
        Steps ``method.parameters()``.
    loader : iterable
        Yields ``(rows, cutouts (B, bands, S, S))`` batches of ``dataset``
        (a DataLoader over :class:`ShardBatches`, or the
        :class:`~models.memory.MemoryBatches` itself).
    dataset : ShardBatches or MemoryBatches
        The loader's dataset (reshuffled per epoch); batches of a dataset whose
        ``linearised`` is True are already in sky-sigma units.
    views : TwoViews
        The augmentation of each batch into two views.
    generator : torch.Generator
        Augmentation randomness, on ``device``, reseeded per epoch.
    device : torch.device
        Where training runs.
    config : TrainConfig
        The run's settings (``epochs``, ``lr``, ``seed``, ``max_bad_steps``).
    total_steps, warmup_steps : int
        Steps of the whole run and of the learning-rate warm-up.
    out : Path
        The checkpoint (named in the divergence message).
    extra_loss : callable, optional
        Added to every step's loss.
    report : callable, optional
        ``report(epoch, step, loss, images_per_s)`` after every step.
    """

    method: SSLMethod
    optimizer: torch.optim.Optimizer
    loader: Iterable[tuple[torch.Tensor, torch.Tensor]]
    dataset: ShardBatches | MemoryBatches
    views: TwoViews
    generator: torch.Generator
    device: torch.device
    config: TrainConfig
    total_steps: int
    warmup_steps: int
    out: Path
    extra_loss: ExtraLoss | None = None
    report: Callable[[int, int, float, float], None] | None = None


def _step_loss(setup: EpochSetup, raw: torch.Tensor, step: int) -> torch.Tensor:
    """Set the step's learning rate, draw two views of ``raw`` and compute the loss."""
    set_lr(
        setup.optimizer,
        lr_at(step, setup.total_steps, setup.warmup_steps, setup.config.lr),
    )
    with torch.no_grad():
        x = raw.to(setup.device, non_blocking=True)
        if not getattr(setup.dataset, "linearised", False):
            x = linearise(x)
        v1, v2 = setup.views(x, setup.generator)
    loss = setup.method.loss(v1, v2)
    if setup.extra_loss is not None:
        loss = loss + setup.extra_loss(setup.method.model, step)
    setup.optimizer.zero_grad(set_to_none=True)
    return loss


def _check_bad_steps(setup: EpochSetup, bad: int, epoch: int, step: int) -> None:
    """Log a skipped step; raise once ``max_bad_steps`` come in a row."""
    log.warning(
        "non-finite loss at epoch %d step %d: step skipped (%d in a row)",
        epoch + 1,
        step,
        bad,
    )
    if bad >= setup.config.max_bad_steps:
        msg = (
            f"training diverged: {bad} consecutive non-finite losses at epoch "
            f"{epoch + 1} (try a lower --lr); last good checkpoint: {setup.out}"
        )
        raise TrainingError(msg)


def train_one_epoch(
    setup: EpochSetup, epoch: int, step: int
) -> tuple[dict[str, Any], int]:
    """Run epoch ``epoch`` (0-based) starting at optimiser step ``step``.

    Parameters
    ----------
    setup : EpochSetup
        The run's networks, optimiser, data and settings.
    epoch : int
        Epoch index (0-based); seeds the shuffle and the augmentations.
    step : int
        Optimiser steps taken before this epoch.

    Returns
    -------
    entry : dict
        ``{"epoch", "loss", "images_per_s", "seconds", "lr"}`` of this epoch
        (``epoch`` 1-based, ``loss`` the mean over the steps taken).
    step : int
        Optimiser steps taken after this epoch.

    Raises
    ------
    TrainingError
        After ``config.max_bad_steps`` consecutive non-finite losses.
    """
    config = setup.config
    setup.dataset.set_epoch(epoch)
    setup.generator.manual_seed(config.seed * 1_000_003 + epoch)
    setup.method.model.train()
    losses, bad, n_images, t0 = [], 0, 0, time.perf_counter()
    bar = tqdm(
        setup.loader,
        total=len(setup.dataset),
        desc=f"epoch {epoch + 1}/{config.epochs}",
        unit="batch",
        leave=False,
        disable=None,
    )
    for _, raw in bar:
        loss = _step_loss(setup, raw, step)
        if not torch.isfinite(loss):
            bad += 1
            _check_bad_steps(setup, bad, epoch, step)
            continue
        bad = 0
        loss.backward()
        setup.optimizer.step()
        setup.method.after_step(step, setup.total_steps)
        step += 1
        losses.append(float(loss.detach()))
        n_images += raw.shape[0]
        rate = n_images / max(time.perf_counter() - t0, 1e-9)
        bar.set_postfix(loss=f"{losses[-1]:.3f}", img_s=f"{rate:.0f}")
        if setup.report is not None:
            setup.report(epoch, step, losses[-1], rate)
    bar.close()
    seconds = time.perf_counter() - t0
    entry: dict[str, Any] = {
        "epoch": epoch + 1,
        "loss": float(np.mean(losses)) if losses else float("nan"),
        "images_per_s": n_images / max(seconds, 1e-9),
        "seconds": seconds,
        "lr": setup.optimizer.param_groups[0]["lr"],
    }
    return entry, step
