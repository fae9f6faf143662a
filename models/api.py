"""What the explorer side asks of the torch side, in one place.

:mod:`explorer.jobs.runner` is the only caller (it imports this module inside
its functions). This module imports nothing heavy at import time, so
:func:`training_defaults` stays free of torch.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from explorer.errors import DataError

if TYPE_CHECKING:
    from collections.abc import Callable

    import numpy as np

    from models.config import TrainConfig

log = logging.getLogger(__name__)


def training_defaults() -> dict[str, Any]:
    """The default training settings (:class:`models.config.TrainConfig`).

    ``arch`` stays ``"auto"`` (it follows the device) and ``threads`` 0 (the
    cores); ``width``, ``layers`` and ``batch_size`` are shown as they
    resolve on a CPU (:meth:`TrainConfig.for_device`), so help texts name
    numbers rather than "0 = automatic".
    """
    from models.config import TrainConfig

    resolved = TrainConfig().for_device("cpu")
    return resolved.replace(arch="auto", threads=0).to_dict()


def training_config(settings: dict[str, Any]) -> TrainConfig:
    """:class:`TrainConfig` defaults with ``settings`` applied (None values skipped).

    Raises
    ------
    DataError
        If a key is not a training setting (the message names it).
    TrainingError
        If a value is invalid.
    """
    from models.config import TrainConfig
    from models.train import TrainingError

    names = {f.name for f in dataclasses.fields(TrainConfig)}
    unknown = sorted(set(settings) - names)
    if unknown:
        msg = f"unknown training setting(s) {unknown} (settings: {sorted(names)})"
        raise DataError(msg)
    try:
        return TrainConfig().replace(**settings)
    except ValueError as exc:
        raise TrainingError(str(exc)) from exc


class _EpochLog:
    """Progress callback of training that logs one line per epoch reached."""

    def __init__(self) -> None:
        self.epoch: Any = None

    def __call__(self, info: dict[str, Any]) -> None:
        if info.get("epoch") not in (None, self.epoch):
            self.epoch = info["epoch"]
            log.info("training epoch %s/%s", self.epoch, info.get("epochs"))


class _EpochEval:
    """Adapts a torch-free ``on_epoch_end(epoch, encode)`` to the training hook.

    ``encode`` maps raw cutouts ``(n, bands, S, S)`` to ``(n, D)`` float32 unit
    ``h`` of the current model; a dict the hook returns is merged into that
    epoch's history entry (so it is saved in the checkpoint's ``history``).
    """

    def __init__(self, hook: Callable, config: TrainConfig) -> None:
        self.hook = hook
        self.config = config

    def __call__(self, model: Any, epoch: int) -> dict[str, Any] | None:
        import torch

        from models.encode import encode

        device = next(model.parameters()).device

        def encode_numpy(cutouts: np.ndarray) -> np.ndarray:
            import numpy as np

            raw = torch.from_numpy(np.ascontiguousarray(cutouts)).to(device)
            return encode(model, self.config, raw).cpu().numpy()

        return self.hook(epoch, encode_numpy)


def training_summary(checkpoint: Path) -> dict[str, Any]:
    """``{"config", "epochs", "history", "device", "device_name"}`` of a checkpoint.

    ``device`` is where it was trained (``"cpu"``, ``"cuda"``...);
    ``device_name`` the CUDA device's name when that is this machine's GPU.
    """
    import torch

    from models.checkpoint import load_checkpoint

    state = load_checkpoint(checkpoint)
    device = str(state.get("device", "cpu"))
    name = None
    if device.startswith("cuda") and torch.cuda.is_available():
        name = torch.cuda.get_device_name(torch.device(device))
    return {
        "config": state["config"],
        "epochs": int(state["epoch"]),
        "history": list(state.get("history", [])),
        "device": device,
        "device_name": name,
    }


def train_encoder(
    store_root: Path,
    out: Path,
    settings: dict[str, Any],
    *,
    device: str = "auto",
    resume: bool = False,
    progress: bool = True,
    slim: bool = False,
    on_epoch_end: Callable[[int, Callable[[np.ndarray], np.ndarray]], Any]
    | None = None,
    rows: np.ndarray | None = None,
) -> Path:
    """Train an encoder on the store's cutouts (see ``runner.train_encoder``)."""
    from models.train import train

    config = training_config(settings)
    result = train(
        store_root,
        out,
        config,
        device=device,
        resume=resume,
        slim=slim,
        rows=rows,
        progress=_EpochLog() if progress else None,
        on_epoch_end=None if on_epoch_end is None else _EpochEval(on_epoch_end, config),
    )
    last = result["history"][-1] if result["history"] else {}
    log.info(
        "wrote %s after %d epochs (loss %.4f, device %s)",
        result["checkpoint"],
        result["epochs"],
        last.get("loss", float("nan")),
        result["device"],
    )
    return Path(result["checkpoint"])


def embed_store(
    store_root: Path,
    checkpoint: Path,
    version: str,
    *,
    device: str = "auto",
    batch_size: int | None = None,
    workers: int = 0,
    progress: bool = True,
    make_current: bool = True,
    before_publish: Callable[[Path], None] | None = None,
) -> Path:
    """Embed the store into a new version (see :func:`models.embed.embed_store`)."""
    from models.embed import embed_store as _embed_store

    return _embed_store(
        store_root,
        checkpoint,
        version,
        device=device,
        batch_size=batch_size,
        num_workers=workers,
        make_current=make_current,
        bar=None if progress else False,
        before_publish=before_publish,
    )


def encode_store(
    store_root: Path,
    checkpoint: Path,
    *,
    device: str = "auto",
    batch_size: int | None = None,
    workers: int = 0,
    progress: bool = True,
) -> np.ndarray:
    """``(N, D)`` float32 L2-normalised representations of the store's cutouts."""
    from models.embed import encode_store as _encode_store

    return _encode_store(
        store_root,
        checkpoint,
        device=device,
        batch_size=batch_size,
        num_workers=workers,
        bar=None if progress else False,
    )


def train_reference(
    cutouts: np.ndarray, settings: dict[str, Any], on_epoch_end: Callable | None
) -> list[dict[str, Any]]:
    """The reference SimCLR of :mod:`models.reference` on in-memory cutouts.

    ``settings`` may set ``epochs``, ``batch_size``, ``crop``, ``seed`` and
    ``threads`` (0 = the cores).
    """
    import torch

    from models.config import available_cores
    from models.reference import train_reference_simclr

    torch.set_num_threads(settings.get("threads") or available_cores())
    keys = ("epochs", "batch_size", "crop", "seed")
    return train_reference_simclr(
        cutouts,
        **{k: settings[k] for k in keys if settings.get(k)},
        on_epoch_end=on_epoch_end,
    )


def train_supervised(
    cutouts: np.ndarray,
    labels: np.ndarray,
    settings: dict[str, Any],
    bands: list[str],
    on_epoch_end: Callable | None,
) -> list[dict[str, Any]]:
    """Our encoder trained on labels (:mod:`models.supervised`), on the CPU."""
    import torch

    from models.supervised import train_supervised as train

    config = training_config(settings).replace(
        bands=bands, cutout_size=int(cutouts.shape[-1])
    )
    config = config.for_device("cpu")
    torch.set_num_threads(config.threads)
    return train(cutouts, labels, config, on_epoch_end=on_epoch_end)
