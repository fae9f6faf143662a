"""The self-supervised training run (SimCLR or BYOL) over a store's cutouts.

Device is chosen once (``cuda`` if available, else ``cpu``); on CUDA the loop
uses bf16 autocast and channels-last tensors. The learning rate follows a
linear warm-up then a cosine decay (AdamW or LARS, :mod:`models.optim`); the
method's networks and loss are a :class:`models.methods.SSLMethod`; one epoch
is :func:`models.epoch.train_one_epoch`. A non-finite loss skips its step;
several in a row abort with :class:`TrainingError`. After every epoch the
checkpoint is written atomically, so an interruption (Ctrl-C, crash) leaves the
last complete epoch on disk and ``resume=True`` continues from it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from explorer.store import Store
from models.augment import TwoViews, ViewAugment
from models.checkpoint import (
    check_data_matches,
    config_of,
    load_checkpoint,
    save_checkpoint,
)
from models.config import TrainConfig
from models.data import ShardBatches, make_loader
from models.device import describe_device, resolve_device
from models.encoder import SSLModel
from models.epoch import (
    EpochSetup,
    ExtraLoss,
    Progress,
    ProgressReport,
    train_one_epoch,
)
from models.errors import TrainingError
from models.memory import MemoryBatches, fits_in_memory
from models.methods import SSLMethod, make_method
from models.optim import make_optimizer

__all__ = ["TrainingError", "resolve_device", "train", "train_one_epoch"]

log = logging.getLogger(__name__)

EpochHook = Callable[[SSLModel, int], dict[str, Any] | None]


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


def _fit_to_data(config: TrainConfig, store: Store, n_rows: int) -> TrainConfig:
    """Check there is data to train on; shrink the batch to the data if needed."""
    if n_rows < 2:
        raise TrainingError(
            f"store {store.root} has {n_rows} source(s): need at least 2"
        )
    if config.batch_size > n_rows:
        log.warning(
            "batch size %d > %d sources: using %d", config.batch_size, n_rows, n_rows
        )
        config = config.replace(batch_size=n_rows)
    return config


def _prepare_runtime(
    config: TrainConfig, device: str
) -> tuple[TrainConfig, torch.device]:
    """Pick the device, resolve the settings for it, apply the thread count.

    Returns
    -------
    config : TrainConfig
        :meth:`TrainConfig.for_device` of ``config`` (a resumed config is
        already resolved and stays as it is).
    device : torch.device
    """
    dev = resolve_device(device)
    config = config.for_device(dev.type)
    if dev.type == "cpu":
        torch.set_num_threads(config.threads)
    log.info(
        "device %s: %s encoder (width %d, layers %s, %d-dim h), batch %d%s",
        describe_device(dev),
        "plain CNN" if config.arch == "cnn" else "ResNet",
        config.width,
        ",".join(map(str, config.layers)),
        config.embedding_dim,
        config.batch_size,
        f", {config.threads} threads" if dev.type == "cpu" else ", bf16 autocast",
    )
    if dev.type == "cpu" and config.arch == "resnet" and config.width >= 32:
        log.info(
            "a width-%d ResNet is slow on a CPU; the CPU default is the plain CNN "
            "(--arch cnn)",
            config.width,
        )
    return config, dev


def _restore(
    method: SSLMethod, optimizer: torch.optim.Optimizer, state: dict[str, Any] | None
) -> tuple[int, int, list[dict[str, Any]]]:
    """Load a resumed checkpoint; ``(start_epoch, step, history)`` (zeros if none)."""
    if state is None:
        return 0, 0, []
    method.load_state_dict(state)
    if "optimizer" in state:
        optimizer.load_state_dict(state["optimizer"])
    else:
        log.warning(
            "checkpoint has no optimiser state (slim); resuming with a fresh one"
        )
    return int(state["epoch"]), int(state["step"]), list(state.get("history", []))


def _setup(
    store: Store,
    out: Path,
    config: TrainConfig,
    dev: torch.device,
    rows: np.ndarray | None,
    extra_loss: ExtraLoss | None,
) -> EpochSetup:
    """Build the method, optimiser, data loader and schedule of a run."""
    torch.manual_seed(config.seed)
    method = make_method(config, dev)
    optimizer = make_optimizer(method.parameters(), config)
    train_rows = np.arange(store.n_sources) if rows is None else np.asarray(rows)
    dataset: ShardBatches | MemoryBatches
    if config.preload and fits_in_memory(len(train_rows), store.cutouts.shape[1:], dev):
        dataset = MemoryBatches(
            store.root, config.batch_size, rows=train_rows, device=dev, seed=config.seed
        )
        loader: Iterable = dataset
    else:
        dataset = ShardBatches(
            store.root,
            config.batch_size,
            rows=rows,
            shuffle=True,
            drop_last=True,
            seed=config.seed,
        )
        loader = make_loader(dataset, config.num_workers, dev.type == "cuda")
    return EpochSetup(
        method=method,
        optimizer=optimizer,
        loader=loader,
        dataset=dataset,
        views=TwoViews(ViewAugment(config)),
        generator=torch.Generator(device=dev),
        device=dev,
        config=config,
        total_steps=len(dataset) * config.epochs,
        warmup_steps=int(round(config.warmup_epochs * len(dataset))),
        out=out,
        extra_loss=extra_loss,
    )


def _end_epoch(
    setup: EpochSetup,
    entry: dict[str, Any],
    on_epoch_end: EpochHook | None,
) -> None:
    """Merge the evaluation hook's dict into ``entry`` (model in eval mode)."""
    if on_epoch_end is None:
        return
    setup.method.model.eval()
    with torch.no_grad():
        entry.update(on_epoch_end(setup.method.model, entry["epoch"]) or {})


def _save(
    setup: EpochSetup,
    store: Store,
    epoch: int,
    step: int,
    history: list[dict[str, Any]],
    slim: bool,
) -> None:
    """Write the checkpoint of ``epoch`` completed epochs atomically."""
    state = {
        "config": setup.config.to_dict(),
        "epoch": epoch,
        "step": step,
        "history": history,
        "store": str(store.root),
        "device": str(setup.device),
        **setup.method.state_dict(),
    }
    if not slim:
        state["optimizer"] = setup.optimizer.state_dict()
    save_checkpoint(setup.out, state)


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
    config, dev = _prepare_runtime(config, device)
    config = _fit_to_data(config, store, n_rows)
    setup = _setup(store, out, config, dev, rows, extra_loss)
    start_epoch, step, history = _restore(setup.method, setup.optimizer, state)
    if progress is not None:
        first_step = start_epoch * len(setup.dataset)
        setup.report = ProgressReport(progress, config, first_step, setup.total_steps)
    log.info(
        "training %s on %d sources of %s, %d epochs",
        config.method,
        n_rows,
        store.root,
        config.epochs,
    )
    for epoch in range(start_epoch, config.epochs):
        entry, step = train_one_epoch(setup, epoch, step)
        _end_epoch(setup, entry, on_epoch_end)
        history.append(entry)
        _save(setup, store, epoch + 1, step, history, slim)
        log.info(
            "epoch %d/%d loss %.4f %.0f img/s (%.0f s), checkpoint %s",
            epoch + 1,
            config.epochs,
            entry["loss"],
            entry["images_per_s"],
            entry["seconds"],
            out,
        )
    return {
        "config": config.to_dict(),
        "epochs": config.epochs,
        "history": history,
        "checkpoint": str(out),
        "device": str(dev),
    }
