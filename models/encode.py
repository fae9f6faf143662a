"""The encoder's forward pass: load a checkpoint, size batches, encode arrays.

Shared by store embedding (:mod:`models.embed`) and in-memory cutouts
(:func:`embed_arrays`, e.g. an upload); no files are written here.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import numpy as np
import torch

from explorer.errors import DataError
from models.augment import Preprocess
from models.checkpoint import (
    check_data_matches,
    load_checkpoint,
    model_from_checkpoint,
)
from models.config import TrainConfig
from models.encoder import SSLModel
from models.train import resolve_device

log = logging.getLogger(__name__)

DEFAULT_BATCH = 512
#: Share of the GPU's free memory one embedding batch may take.
GPU_MEMORY_SHARE = 0.5
#: Bounds of the automatic GPU batch size.
GPU_BATCH_RANGE = (256, 16384)
#: Cutouts in the forward pass that measures a GPU's memory per cutout.
_PROBE_BATCH = 64


def batch_for_memory(
    free_bytes: int,
    bytes_per_cutout: float,
    *,
    share: float = GPU_MEMORY_SHARE,
    bounds: tuple[int, int] = GPU_BATCH_RANGE,
) -> int:
    """Largest batch whose activations fit in ``share`` of ``free_bytes``.

    Rounded down to a multiple of 256 (whole warps/tiles) and clipped to
    ``bounds``.

    Parameters
    ----------
    free_bytes : int
        Free device memory in bytes.
    bytes_per_cutout : float
        Peak memory one cutout adds to a forward pass, in bytes.

    Returns
    -------
    int
        Batch size.
    """
    lo, hi = bounds
    if bytes_per_cutout <= 0:
        return hi
    fitting = int(share * free_bytes / bytes_per_cutout)
    return int(min(max((fitting // 256) * 256, lo), hi))


def auto_batch_size(model: SSLModel, config: TrainConfig, device: torch.device) -> int:
    """Embedding batch size for ``device``: measured from free memory on CUDA.

    On CUDA a probe forward pass of a few cutouts measures the peak memory per
    cutout, and the batch fills :data:`GPU_MEMORY_SHARE` of what is free, so
    large cards are kept busy. On CPU it is :data:`DEFAULT_BATCH`.
    """
    if device.type != "cuda":
        return DEFAULT_BATCH
    size = config.cutout_size
    probe = torch.zeros(_PROBE_BATCH, len(config.bands), size, size, device=device)
    torch.cuda.synchronize(device)
    torch.cuda.reset_peak_memory_stats(device)
    before = torch.cuda.memory_allocated(device)
    encode(model, config, probe)
    torch.cuda.synchronize(device)
    per_cutout = (torch.cuda.max_memory_allocated(device) - before) / _PROBE_BATCH
    free, _total = torch.cuda.mem_get_info(device)
    batch = batch_for_memory(free, per_cutout)
    log.info(
        "GPU batch size %d (%.1f MiB free, %.2f MiB per cutout)",
        batch,
        free / 2**20,
        per_cutout / 2**20,
    )
    return batch


@torch.no_grad()
def encode(model: SSLModel, config: TrainConfig, raw: torch.Tensor) -> torch.Tensor:
    """L2-normalised representations ``h`` of raw cutouts.

    Parameters
    ----------
    model : SSLModel
        In eval mode, on the device of ``raw``.
    config : TrainConfig
        Its preprocessing settings (crop, centred region, stretch) are applied.
    raw : Tensor
        ``(n, bands, S, S)`` cutouts as stored (NaNs are zeroed).

    Returns
    -------
    Tensor
        ``(n, D)`` float32, unit rows.
    """
    x = Preprocess(config)(raw)
    if x.device.type == "cuda":
        x = x.contiguous(memory_format=torch.channels_last)
        with torch.autocast("cuda", dtype=torch.bfloat16):
            h = model.encoder(x)
    else:
        h = model.encoder(x)
    return torch.nn.functional.normalize(h.float(), dim=1)


def load_model(
    checkpoint: str | os.PathLike[str],
    device: torch.device,
) -> tuple[SSLModel, TrainConfig, dict[str, Any]]:
    """The encoder of ``checkpoint`` on ``device``, in eval mode.

    Returns
    -------
    tuple
        ``(model, config, state)``: the model, its training config and the
        raw checkpoint dict (for its epoch and hash).

    Raises
    ------
    CheckpointError
        If the checkpoint is unusable.
    """
    state = load_checkpoint(checkpoint)
    model, config = model_from_checkpoint(state, checkpoint)
    model.to(device)
    if device.type == "cuda":
        model.to(memory_format=torch.channels_last)
    return model, config, state


def embed_arrays(
    checkpoint: str | os.PathLike[str],
    cutouts: np.ndarray,
    *,
    device: str = "auto",
    batch_size: int = DEFAULT_BATCH,
) -> np.ndarray:
    """Embed in-memory cutouts (e.g. an uploaded FITS file) with a checkpoint.

    Parameters
    ----------
    checkpoint : path-like
        A checkpoint written by ``latentsky train``.
    cutouts : ndarray
        ``(n, bands, S, S)`` or a single ``(bands, S, S)`` cutout; band count
        and size must match the training data.

    Returns
    -------
    ndarray
        ``(n, D)`` float32 L2-normalised representations.

    Raises
    ------
    DataError
        If ``cutouts`` does not have 3 or 4 dimensions or is not square.
    CheckpointError
        If the checkpoint is unusable or was trained on other bands or sizes.
    """
    arr = np.asarray(cutouts, dtype=np.float32)
    if arr.ndim == 3:
        arr = arr[None]
    if arr.ndim != 4 or arr.shape[-1] != arr.shape[-2]:
        msg = f"cutouts have shape {np.shape(cutouts)}, expected (n, bands, S, S)"
        raise DataError(msg)
    dev = resolve_device(device)
    model, config, _ = load_model(checkpoint, dev)
    check_data_matches(
        config, arr.shape[1], arr.shape[-1], "the given cutouts", checkpoint
    )
    out = np.empty((len(arr), config.embedding_dim), np.float32)
    for start in range(0, len(arr), batch_size):
        raw = torch.from_numpy(arr[start : start + batch_size]).to(dev)
        out[start : start + len(raw)] = encode(model, config, raw).cpu().numpy()
    return out
