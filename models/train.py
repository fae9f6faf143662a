"""The self-supervised training loop (SimCLR or BYOL) over a store's cutouts.

Device is chosen once (``cuda`` if available, else ``cpu``); on CUDA the loop
uses bf16 autocast and channels-last tensors. The learning rate follows a
linear warm-up then a cosine decay (AdamW or LARS). A non-finite loss skips its
step; several in a row abort with :class:`TrainingError`. After every epoch
the checkpoint is written atomically, so an interruption (Ctrl-C, crash)
leaves the last complete epoch on disk and ``resume=True`` continues from it.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import math
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from explorer.errors import LatentskyError
from explorer.store import Store
from models.augment import TwoViews, ViewAugment, linearise
from models.checkpoint import (
    check_data_matches,
    config_of,
    load_checkpoint,
    save_checkpoint,
)
from models.config import TrainConfig
from models.data import ShardBatches, make_loader
from models.encoder import MLPHead, SSLModel, build_model
from models.loss import byol_loss, byol_tau, ema_update, nt_xent

log = logging.getLogger(__name__)

Progress = Callable[[dict[str, Any]], None]
EpochHook = Callable[[SSLModel, int], dict[str, Any] | None]
ExtraLoss = Callable[[SSLModel, int], torch.Tensor]


class TrainingError(LatentskyError):
    """Training cannot continue (diverged, no data, unusable settings)."""


def resolve_device(name: str = "auto") -> torch.device:
    """``cuda`` if available for ``"auto"``, else the named device.

    Raises
    ------
    TrainingError
        If ``cuda`` is requested but not available.
    """
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise TrainingError(f"device {name!r} requested but CUDA is not available")
    return torch.device(name)


class LARS(torch.optim.Optimizer):
    """SGD with momentum and layer-wise trust ratio (You et al. 2017).

    Biases and normalisation parameters (1-D tensors) get neither weight decay
    nor the trust ratio, as in SimCLR.
    """

    def __init__(
        self,
        params,
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
    def step(self, closure=None):  # noqa: D102 - torch's signature
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


def lr_at(step: int, total_steps: int, warmup_steps: int, base_lr: float) -> float:
    """Linear warm-up to ``base_lr`` then cosine decay to ``1e-3 * base_lr``."""
    if warmup_steps > 0 and step < warmup_steps:
        return base_lr * (step + 1) / warmup_steps
    span = max(1, total_steps - warmup_steps)
    progress = min(1.0, (step - warmup_steps) / span)
    return base_lr * (1e-3 + (1 - 1e-3) * 0.5 * (1 + math.cos(math.pi * progress)))


def _make_optimizer(
    params: list[nn.Parameter], config: TrainConfig
) -> torch.optim.Optimizer:
    if config.optimizer == "lars":
        return LARS(params, lr=config.lr, weight_decay=config.weight_decay)
    return torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)


class _Runner:
    """The model(s), optimiser and one training step of a method."""

    def __init__(self, config: TrainConfig, device: torch.device) -> None:
        self.config = config
        self.device = device
        self.model = build_model(config).to(device)
        self.predictor: nn.Module | None = None
        self.target: SSLModel | None = None
        params = list(self.model.parameters())
        if config.method == "byol":
            self.predictor = MLPHead(
                config.proj_dim, config.pred_hidden, config.proj_dim
            )
            self.predictor.to(device)
            self.target = copy.deepcopy(self.model).requires_grad_(False)
            params += list(self.predictor.parameters())
        if device.type == "cuda":
            self.model.to(memory_format=torch.channels_last)
            if self.target is not None:
                self.target.to(memory_format=torch.channels_last)
        self.optimizer = _make_optimizer(params, config)

    def autocast(self) -> contextlib.AbstractContextManager:
        if self.device.type == "cuda":
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def loss(
        self, v1: torch.Tensor, v2: torch.Tensor, step: int, total: int
    ) -> torch.Tensor:
        n = v1.shape[0]
        x = torch.cat([v1, v2])
        if self.device.type == "cuda":
            x = x.contiguous(memory_format=torch.channels_last)
        with self.autocast():
            _, z = self.model(x)
            if self.config.method == "simclr":
                return nt_xent(z[:n], z[n:], self.config.temperature)
            assert self.predictor is not None and self.target is not None
            p = self.predictor(z)
            with torch.no_grad():
                _, t = self.target(x)
            return byol_loss(p[:n], p[n:], t[:n], t[n:])

    def after_step(self, step: int, total: int) -> None:
        if self.target is not None:
            ema_update(
                self.target, self.model, byol_tau(self.config.byol_tau, step, total)
            )

    def state(self, slim: bool) -> dict[str, Any]:
        state: dict[str, Any] = {"model": self.model.state_dict()}
        if self.predictor is not None and self.target is not None:
            state["predictor"] = self.predictor.state_dict()
            state["target"] = self.target.state_dict()
        if not slim:
            state["optimizer"] = self.optimizer.state_dict()
        return state

    def load(self, state: dict[str, Any]) -> None:
        self.model.load_state_dict(state["model"])
        if self.predictor is not None and self.target is not None:
            self.predictor.load_state_dict(state["predictor"])
            self.target.load_state_dict(state["target"])
        if "optimizer" in state:
            self.optimizer.load_state_dict(state["optimizer"])
        else:
            log.warning(
                "checkpoint has no optimiser state (slim); resuming with a fresh one"
            )


def _prepare_config(
    store: Store,
    out: Path,
    config: TrainConfig,
    resume: bool,
) -> tuple[TrainConfig, dict[str, Any] | None]:
    """Final config (from the checkpoint when resuming) and the resumed state."""
    if resume and out.exists():
        state = load_checkpoint(out)
        saved = config_of(state, out)
        check_data_matches(
            saved, store.bands, store.cutout_size, f"store {store.root}", out
        )
        log.info("resuming %s from epoch %d of %d", out, state["epoch"], config.epochs)
        return saved.replace(epochs=config.epochs), state
    if resume:
        log.info("no checkpoint at %s yet: starting from scratch", out)
    config = config.replace(bands=store.bands, cutout_size=store.cutout_size)
    return config, None


def train(
    store: Store | str | os.PathLike[str],
    out: str | os.PathLike[str],
    config: TrainConfig | None = None,
    *,
    device: str = "auto",
    resume: bool = False,
    rows: np.ndarray | None = None,
    slim: bool = False,
    progress: Progress | None = None,
    on_epoch_end: EpochHook | None = None,
    extra_loss: ExtraLoss | None = None,
) -> dict[str, Any]:
    """Train an encoder on the store's cutouts, checkpointing after every epoch.

    Parameters
    ----------
    store : Store or path
        The store whose cutouts to learn from.
    out : path-like
        Checkpoint file, rewritten atomically after every epoch.
    config : TrainConfig, optional
        Settings (defaults if omitted). ``bands``/``cutout_size`` come from the store.
    device : str
        ``"auto"`` (cuda > cpu), ``"cpu"`` or ``"cuda"``.
    resume : bool
        Continue from ``out`` if it exists (its config wins, except ``epochs``).
    rows : ndarray, optional
        Train on these store rows only (e.g. a split in benchmarks).
    slim : bool
        Leave the optimiser state out of the checkpoint (smaller file; resuming
        then restarts the optimiser's moments).
    progress : callable, optional
        Called with ``{"phase", "epoch", "epochs", "step", "steps", "fraction",
        "loss", "images_per_s", "eta_s"}`` after every step (for job runners).
    on_epoch_end : callable, optional
        ``on_epoch_end(model, epoch)`` after each epoch (model in eval mode); a
        returned dict is merged into that epoch's history entry.
    extra_loss : callable, optional
        ``extra_loss(model, step) -> Tensor`` added to every step's loss (the
        supervised-contrastive cluster term of :mod:`models.finetune`).

    Returns
    -------
    dict
        ``{"config", "epochs", "history", "checkpoint", "device"}``.

    Raises
    ------
    TrainingError
        On too many consecutive non-finite losses or too few sources.
    StoreError, CheckpointError
        For a store without cutouts or an unusable checkpoint to resume.
    """
    store = store if isinstance(store, Store) else Store.open(store)
    out = Path(out)
    store.cutouts  # noqa: B018 - raises StoreError early if the store has no cutouts
    config, state = _prepare_config(store, out, config or TrainConfig(), resume)
    n_rows = store.n_sources if rows is None else len(rows)
    if n_rows < 2:
        raise TrainingError(
            f"store {store.root} has {n_rows} source(s): need at least 2"
        )
    if config.batch_size > n_rows:
        log.warning(
            "batch size %d > %d sources: using %d", config.batch_size, n_rows, n_rows
        )
        config = config.replace(batch_size=n_rows)
    if config.threads:
        torch.set_num_threads(config.threads)
    dev = resolve_device(device)
    if dev.type == "cpu" and config.width * sum(config.layers) > 128:
        log.info(
            "a width-%d ResNet with %s blocks is slow on a CPU; the demo encoder uses "
            "--width 16 --layers 1,1,1,1 (assets/encoder-demo.json)",
            config.width,
            config.layers,
        )
    torch.manual_seed(config.seed)
    runner = _Runner(config, dev)
    start_epoch, step, history = 0, 0, []
    if state is not None:
        runner.load(state)
        start_epoch, step = int(state["epoch"]), int(state["step"])
        history = list(state.get("history", []))
    dataset = ShardBatches(
        store.root,
        config.batch_size,
        rows=rows,
        shuffle=True,
        drop_last=True,
        seed=config.seed,
    )
    loader = make_loader(dataset, config.num_workers, pin_memory=dev.type == "cuda")
    steps_per_epoch = len(dataset)
    total = steps_per_epoch * config.epochs
    warmup = int(round(config.warmup_epochs * steps_per_epoch))
    views = TwoViews(ViewAugment(config))
    generator = torch.Generator(device=dev)
    log.info(
        "training %s (width %d, %d-dim h) on %d sources of %s, %d epochs, device %s",
        config.method,
        config.width,
        config.embedding_dim,
        n_rows,
        store.root,
        config.epochs,
        dev,
    )
    t_start = time.perf_counter()
    images_done = 0
    for epoch in range(start_epoch, config.epochs):
        dataset.set_epoch(epoch)
        generator.manual_seed(config.seed * 1_000_003 + epoch)
        runner.model.train()
        losses, bad, n_images, t0 = [], 0, 0, time.perf_counter()
        bar = tqdm(
            loader,
            total=steps_per_epoch,
            desc=f"epoch {epoch + 1}/{config.epochs}",
            unit="batch",
            leave=False,
            disable=None,
        )
        for _, raw in bar:
            lr = lr_at(step, total, warmup, config.lr)
            for group in runner.optimizer.param_groups:
                group["lr"] = lr
            with torch.no_grad():
                v1, v2 = views(linearise(raw.to(dev, non_blocking=True)), generator)
            loss = runner.loss(v1, v2, step, total)
            if extra_loss is not None:
                loss = loss + extra_loss(runner.model, step)
            runner.optimizer.zero_grad(set_to_none=True)
            if not torch.isfinite(loss):
                bad += 1
                log.warning(
                    "non-finite loss at epoch %d step %d: step skipped (%d in a row)",
                    epoch + 1,
                    step,
                    bad,
                )
                if bad >= config.max_bad_steps:
                    msg = (
                        f"training diverged: {bad} consecutive non-finite losses at "
                        "epoch "
                        f"{epoch + 1} (try a lower --lr); last good checkpoint: {out}"
                    )
                    raise TrainingError(msg)
                continue
            bad = 0
            loss.backward()
            runner.optimizer.step()
            runner.after_step(step, total)
            step += 1
            losses.append(float(loss.detach()))
            n_images += raw.shape[0]
            images_done += raw.shape[0]
            rate = n_images / max(time.perf_counter() - t0, 1e-9)
            bar.set_postfix(loss=f"{losses[-1]:.3f}", img_s=f"{rate:.0f}")
            if progress is not None:
                done = step - start_epoch * steps_per_epoch
                remaining = total - step
                progress(
                    {
                        "phase": "train",
                        "epoch": epoch + 1,
                        "epochs": config.epochs,
                        "step": step,
                        "steps": total,
                        "fraction": min(1.0, step / max(total, 1)),
                        "loss": losses[-1],
                        "images_per_s": rate,
                        "eta_s": remaining
                        * (time.perf_counter() - t_start)
                        / max(done, 1),
                    }
                )
        bar.close()
        seconds = time.perf_counter() - t0
        entry: dict[str, Any] = {
            "epoch": epoch + 1,
            "loss": float(np.mean(losses)) if losses else float("nan"),
            "images_per_s": n_images / max(seconds, 1e-9),
            "seconds": seconds,
            "lr": lr,
        }
        if on_epoch_end is not None:
            runner.model.eval()
            with torch.no_grad():
                entry.update(on_epoch_end(runner.model, epoch + 1) or {})
        history.append(entry)
        save_checkpoint(
            out,
            {
                "config": config.to_dict(),
                "epoch": epoch + 1,
                "step": step,
                "history": history,
                "store": str(store.root),
                "device": str(dev),
                **runner.state(slim),
            },
        )
        log.info(
            "epoch %d/%d loss %.4f %.0f img/s (%.0f s), checkpoint %s",
            epoch + 1,
            config.epochs,
            entry["loss"],
            entry["images_per_s"],
            seconds,
            out,
        )
    return {
        "config": config.to_dict(),
        "epochs": config.epochs,
        "history": history,
        "checkpoint": str(out),
        "device": str(dev),
    }
