"""The device, chosen once, and the precision the networks run in on it."""

from __future__ import annotations

import contextlib

import torch

from models.errors import TrainingError


def resolve_device(name: str = "auto") -> torch.device:
    """``cuda`` if available for ``"auto"``, else the named device.

    Parameters
    ----------
    name : str
        ``"auto"``, ``"cpu"``, ``"cuda"`` or ``"cuda:<index>"``.

    Returns
    -------
    torch.device

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


def autocast(device: torch.device) -> contextlib.AbstractContextManager:
    """bf16 autocast on CUDA (the precision the loop trains in), else a no-op."""
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def describe_device(device: torch.device) -> str:
    """``"cpu"`` or ``"cuda:0 (<card name>)"``, for the line training starts with."""
    if device.type == "cuda":
        return f"{device} ({torch.cuda.get_device_name(device)})"
    return str(device)
