"""The supervised upper reference: our encoder trained on the hidden labels.

Same network (:func:`models.encoder.build_model` of the same
:class:`~models.config.TrainConfig`), same input pipeline (one
:class:`~models.augment.ViewAugment` view per step, embedding through
:class:`~models.augment.Preprocess`) and schedule as self-supervised
training, but a linear classifier on ``h`` trained with cross-entropy on the
labels of the given rows. ``latentsky bench ssl`` uses it to say how close a
label-free representation comes to one that saw the answers.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from models.augment import Preprocess, ViewAugment, linearise
from models.config import TrainConfig
from models.encoder import build_model
from models.optim import lr_at, make_optimizer, set_lr

Hook = Callable[[int, Callable[[np.ndarray], np.ndarray]], dict[str, Any] | None]


def train_supervised(
    cutouts: np.ndarray,
    labels: np.ndarray,
    config: TrainConfig,
    *,
    on_epoch_end: Hook | None = None,
) -> list[dict[str, Any]]:
    """Train encoder + linear head on ``(N, bands, S, S)`` cutouts and int labels.

    Parameters
    ----------
    cutouts : ndarray
        ``(N, bands, S, S)`` raw cutouts of the labelled training rows.
    labels : ndarray
        ``(N,)`` integer classes ``0..K-1``.
    config : TrainConfig
        A resolved config (``bands`` set); ``epochs``, ``batch_size``, ``lr``
        and the augmentations are used as in SSL training.
    on_epoch_end : callable, optional
        ``on_epoch_end(epoch, encode)``; ``encode`` maps raw cutouts to
        ``(n, D)`` unit ``h``; a returned dict joins the epoch's entry.

    Returns
    -------
    list of dict
        Per epoch: ``{"epoch", "loss", "seconds", "images_per_s"}`` and the hook's.

    Raises
    ------
    ValueError
        If ``labels`` and ``cutouts`` differ in length.
    """
    if len(labels) != len(cutouts):
        msg = f"{len(labels)} labels for {len(cutouts)} cutouts"
        raise ValueError(msg)
    torch.manual_seed(config.seed)
    g = torch.Generator().manual_seed(config.seed)
    x = linearise(torch.from_numpy(np.ascontiguousarray(cutouts, np.float32)))
    y = torch.from_numpy(np.asarray(labels, np.int64))
    encoder = build_model(config).encoder
    head = nn.Linear(encoder.out_dim, int(y.max()) + 1)
    params = [*encoder.parameters(), *head.parameters()]
    opt = make_optimizer(params, config)
    augment, preprocess = ViewAugment(config), Preprocess(config)
    steps = len(x) // config.batch_size
    total, warmup = steps * config.epochs, int(config.warmup_epochs * steps)

    @torch.no_grad()
    def encode(raw: np.ndarray) -> np.ndarray:
        encoder.eval()
        h = encoder(preprocess(torch.from_numpy(np.asarray(raw, np.float32))))
        encoder.train()
        return F.normalize(h, dim=1).numpy()

    history, step = [], 0
    for epoch in range(1, config.epochs + 1):
        t0, losses = time.perf_counter(), []
        order = torch.randperm(len(x), generator=g)[: steps * config.batch_size]
        for b in order.split(config.batch_size):
            set_lr(opt, lr_at(step, total, warmup, config.lr))
            with torch.no_grad():
                v = augment(x[b], g)
            loss = F.cross_entropy(head(encoder(v)), y[b])
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(float(loss.detach()))
            step += 1
        seconds = time.perf_counter() - t0
        entry = {"epoch": epoch, "loss": float(np.mean(losses)), "seconds": seconds}
        entry["images_per_s"] = steps * config.batch_size / seconds
        entry.update((on_epoch_end(epoch, encode) or {}) if on_epoch_end else {})
        history.append(entry)
    return history
