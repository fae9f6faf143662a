"""Checkpoint files: atomic writes, safe loading, architecture and data checks.

A checkpoint is a plain dict of tensors, numbers, strings and lists (so
``torch.load(path, weights_only=True)`` reads it, never unpickling code)::

    format          "latentsky-checkpoint"
    format_version  1
    config          TrainConfig.to_dict()
    epoch           completed epochs
    step            optimiser steps taken
    model           SSLModel state dict (encoder.* and projector.*)
    predictor       BYOL predictor state dict (BYOL only)
    target          BYOL target network state dict (BYOL only)
    optimizer       optimiser state dict (absent in slim checkpoints)
    history         per-epoch dicts (loss, images/s, any evaluation)
    created         ISO time of writing
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import os
import pickle
import zipfile
from pathlib import Path
from typing import Any

import torch

from explorer.errors import LatentskyError
from explorer.store import atomic
from models.config import TrainConfig
from models.encoder import SSLModel, build_model

FORMAT = "latentsky-checkpoint"
FORMAT_VERSION = 1


class CheckpointError(LatentskyError):
    """A checkpoint is missing, corrupt, or does not fit the model or the data."""


def save_checkpoint(path: str | os.PathLike[str], state: dict[str, Any]) -> None:
    """Write ``state`` to ``path`` atomically (temp file + rename).

    An interruption (Ctrl-C, crash) leaves the previous file at ``path`` intact.
    """
    state = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        **state,
    }
    with atomic.atomic_path(path) as tmp:
        torch.save(state, tmp)


def load_checkpoint(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a checkpoint with ``weights_only=True`` and check its format.

    Raises
    ------
    CheckpointError
        If the file does not exist, is not a torch file, is truncated, or is
        not a latentsky checkpoint.
    """
    path = Path(path)
    if not path.is_file():
        msg = f"checkpoint {path} does not exist (train one with `latentsky train`)"
        raise CheckpointError(msg)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (
        RuntimeError,
        EOFError,
        pickle.UnpicklingError,
        zipfile.BadZipFile,
        ValueError,
        OSError,
    ) as exc:
        # torch's own text for a refused unpickling advises weights_only=False,
        # the opposite of what to do with a file one did not make: keep it out.
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        if not first or "weights_only" in first:
            first = type(exc).__name__
        msg = (
            f"checkpoint {path} is corrupt or not a latentsky checkpoint ({first}); "
            "use a file written by `latentsky train`"
        )
        raise CheckpointError(msg) from exc
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        msg = f"{path} is not a latentsky checkpoint (no format {FORMAT!r} entry)"
        raise CheckpointError(msg)
    if int(state.get("format_version", 0)) > FORMAT_VERSION:
        msg = (
            f"checkpoint {path} has format version {state['format_version']}, newer "
            f"than the {FORMAT_VERSION} this latentsky reads"
        )
        raise CheckpointError(msg)
    for key in ("config", "model"):
        if key not in state:
            msg = f"checkpoint {path} has no {key!r} entry"
            raise CheckpointError(msg)
    return state


def config_of(
    state: dict[str, Any], path: str | os.PathLike[str] = "checkpoint"
) -> TrainConfig:
    """The :class:`TrainConfig` stored in a loaded checkpoint."""
    try:
        return TrainConfig.from_dict(dict(state["config"]))
    except (TypeError, ValueError) as exc:
        msg = f"checkpoint {path} holds an invalid training config: {exc}"
        raise CheckpointError(msg) from exc


def model_from_checkpoint(
    state: dict[str, Any],
    path: str | os.PathLike[str] = "checkpoint",
) -> tuple[SSLModel, TrainConfig]:
    """Rebuild the model of a loaded checkpoint and load its weights (eval mode).

    Raises
    ------
    CheckpointError
        If the weights do not fit the architecture the config describes
        (another width, depth, band count or a foreign network).
    """
    config = config_of(state, path)
    model = build_model(config)
    try:
        model.load_state_dict(state["model"])
    except RuntimeError as exc:
        detail = " ".join(str(exc).split())[:300]
        msg = (
            f"checkpoint {path} does not match the encoder architecture it declares "
            f"({config.arch} width {config.width}, layers {config.layers}, "
            f"{len(config.bands)} bands): {detail}"
        )
        raise CheckpointError(msg) from exc
    return model.eval(), config


def check_data_matches(
    config: TrainConfig,
    bands: list[str] | int,
    cutout_size: int,
    what: str,
    path: str | os.PathLike[str] = "checkpoint",
) -> None:
    """Raise if cutouts of ``bands`` x ``cutout_size`` cannot be embedded by this model.

    Parameters
    ----------
    bands : list of str or int
        Band names of the data (or just their number).
    what : str
        Names the data in the message (e.g. ``"store demo_store"``).
    """
    n_bands = bands if isinstance(bands, int) else len(bands)
    if n_bands != len(config.bands):
        names = "" if isinstance(bands, int) else f" ({', '.join(bands)})"
        msg = (
            f"checkpoint {path} was trained on {len(config.bands)} bands "
            f"({', '.join(config.bands)}) but {what} has {n_bands} bands{names}"
        )
        raise CheckpointError(msg)
    if int(cutout_size) != int(config.cutout_size):
        msg = (
            f"checkpoint {path} was trained on {config.cutout_size}x"
            f"{config.cutout_size} px cutouts but {what} has "
            f"{cutout_size}x{cutout_size} px cutouts"
        )
        raise CheckpointError(msg)


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
