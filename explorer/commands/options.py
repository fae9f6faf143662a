"""Option groups shared by several commands, defined once with their validation.

Every value is checked by argparse (``type=``/``choices=``), so a bad value is
a one-line ``latentsky CMD: error: argument --flag: ...`` with exit status 2,
never a traceback from deep inside training or serving.

- :func:`add_training_options` / :func:`training_settings`: the
  :class:`models.config.TrainConfig` overrides (``--epochs``, ``--width``, ...),
  with the defaults of :func:`explorer.jobs.runner.training_defaults` in the help;
- :func:`add_device_option`: ``--device`` (auto, cpu, cuda);
- :func:`add_workers_option`: ``--workers`` (``--num-workers`` is a hidden alias);
- ``type=`` helpers (from :mod:`explorer.argtypes`): :func:`positive_int`,
  :func:`non_negative_int`, :func:`int_at_least`, :func:`port`,
  :func:`positive_float`, :func:`non_negative_float`, :func:`int_list`,
  :func:`positive_int_list`.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from typing import Any

from explorer.argtypes import (
    int_at_least,
    non_negative_int,
    positive_float,
    positive_int,
    positive_int_list,
)
from explorer.jobs.protocol import DEVICES

#: Choices of the categorical training settings (as models.config checks them).
METHODS = ("simclr", "byol")
ARCHS = ("auto", "cnn", "resnet")
OPTIMIZERS = ("adamw", "lars")


# ---------------------------------------------------------- training options
#: flag name -> (TrainConfig field, argparse keywords, help without the default)
_TRAINING: dict[str, tuple[str, dict[str, Any], str]] = {
    "method": ("method", {"choices": METHODS}, "self-supervised method"),
    "epochs": ("epochs", {"type": positive_int}, "epochs"),
    # two views per source make a pair; TrainConfig refuses fewer than 2
    "batch-size": ("batch_size", {"type": int_at_least(2)}, "sources per step"),
    "temperature": ("temperature", {"type": positive_float}, "NT-Xent temperature"),
    "lr": ("lr", {"type": positive_float}, "peak learning rate"),
    "optimizer": ("optimizer", {"choices": OPTIMIZERS}, "optimiser"),
    "arch": (
        "arch",
        {"choices": ARCHS},
        "encoder: auto = plain CNN on a CPU, ResNet-18 on CUDA",
    ),
    "width": (
        "width",
        {"type": positive_int},
        "channels of the first stage; h has 8 x width dimensions",
    ),
    "layers": (
        "layers",
        {"type": positive_int_list, "metavar": "N,N,N,N"},
        "blocks per stage (2,2,2,2 is ResNet-18)",
    ),
    "crop": ("crop", {"type": positive_int}, "network input side in pixels"),
    "threads": (
        "threads",
        {"type": non_negative_int},
        "torch CPU threads, 0 = torch's choice",
    ),
    "seed": ("seed", {"type": non_negative_int}, "random seed"),
}


def _shown(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value)
    return str(value)


def add_training_options(
    parser: argparse.ArgumentParser,
    *,
    only: Sequence[str] | None = None,
    defaults: Mapping[str, Any] | None = None,
) -> None:
    """Add the training-setting flags (``--epochs``, ``--width``, ...).

    Parameters
    ----------
    parser : argparse.ArgumentParser
        The command's parser.
    only : sequence of str, optional
        Flag names (without ``--``) to add; default all of them.
    defaults : mapping, optional
        TrainConfig field -> the command's own default (e.g. a benchmark's
        smaller model). Without one a flag defaults to ``None`` (the value then
        comes from TrainConfig), and its help shows TrainConfig's default.

    Raises
    ------
    KeyError
        For a name in ``only`` that is no training flag (a programming error).
    """
    from explorer.jobs.runner import training_defaults

    own = dict(defaults or {})
    shown = {**training_defaults(), **own}
    group = parser.add_argument_group("training settings")
    for flag in only if only is not None else list(_TRAINING):
        field, keywords, text = _TRAINING[flag]
        group.add_argument(
            f"--{flag}",
            dest=field,
            default=own.get(field),
            help=f"{text} (default {_shown(shown[field])})",
            **keywords,
        )


def training_settings(args: argparse.Namespace) -> dict[str, Any]:
    """TrainConfig overrides from the parsed flags of :func:`add_training_options`.

    Only flags that were added and have a value are included; ``--workers``
    (:func:`add_workers_option`), when present, becomes ``num_workers``.

    Parameters
    ----------
    args : argparse.Namespace
        Parsed arguments.

    Returns
    -------
    dict
        TrainConfig field -> value, for :func:`explorer.jobs.runner.train_encoder`.
    """
    names = [field for field, _, _ in _TRAINING.values()]
    settings = {
        name: getattr(args, name)
        for name in names
        if getattr(args, name, None) is not None
    }
    if getattr(args, "workers", None) is not None:
        settings["num_workers"] = args.workers
    return settings


# ------------------------------------------------------- device and workers
def add_device_option(
    parser: argparse.ArgumentParser, *, default: str = "auto"
) -> None:
    """Add ``--device`` (one of ``auto``, ``cpu``, ``cuda``).

    Parameters
    ----------
    parser : argparse.ArgumentParser
        The command's parser.
    default : str
        The command's default device.
    """
    parser.add_argument(
        "--device",
        choices=DEVICES,
        default=default,
        help=f"auto (cuda > cpu), cpu or cuda (default {default})",
    )


def add_workers_option(
    parser: argparse.ArgumentParser,
    *,
    default: int | None = None,
    help: str = "data-loading worker processes",  # noqa: A002 - argparse's name
) -> None:
    """Add ``--workers`` (integer >= 0, ``args.workers``).

    ``--num-workers`` is accepted as a hidden alias: it was the flag of
    ``latentsky reembed`` before the options were shared.

    Parameters
    ----------
    parser : argparse.ArgumentParser
        The command's parser.
    default : int, optional
        The command's default (``None``: the callee's own default).
    help : str
        Help text, without the default.
    """
    shown = "" if default is None else f" (default {default})"
    parser.add_argument(
        "--workers",
        type=non_negative_int,
        default=default,
        metavar="N",
        help=help + shown,
    )
    parser.add_argument(
        "--num-workers",
        dest="workers",
        type=non_negative_int,
        default=argparse.SUPPRESS,
        help=argparse.SUPPRESS,
    )


def add_store_writing_arguments(
    parser: argparse.ArgumentParser, *, step: str = "read/write"
) -> None:
    """``--overwrite``, ``--yes/--force``, ``--chunk`` and ``--no-progress``:
    the flags of every command that builds a store.

    Parameters
    ----------
    parser : argparse.ArgumentParser
        The command's parser.
    step : str
        What one chunk is, in the ``--chunk`` help (e.g. ``"cut/write"``).
    """
    parser.add_argument(
        "--overwrite", action="store_true", help="replace an existing store at STORE"
    )
    parser.add_argument(
        "--yes",
        "--force",
        dest="yes",
        action="store_true",
        help="with --overwrite: also drop the existing store's versions and "
        "annotations",
    )
    parser.add_argument(
        "--chunk",
        type=positive_int,
        default=1024,
        help=f"sources per {step} step (default 1024)",
    )
    parser.add_argument(
        "--no-progress", action="store_true", help="hide the progress bar"
    )


# ---------------------------------------------------------- dask.distributed
#: Scheme prefixes dask.distributed accepts for a scheduler address.
SCHEDULER_SCHEMES = ("tcp://", "tls://", "inproc://", "ucx://", "ws://", "wss://")


def dask_local(text: str) -> int:
    """``local:N`` -> ``N``, the workers of a LocalCluster (argparse ``type=``)."""
    kind, _, count = text.partition(":")
    try:
        workers = int(count)
    except ValueError:
        workers = 0
    if kind != "local" or workers < 1:
        msg = f"must be local:N with N >= 1 workers, got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return workers


def scheduler_address(text: str) -> str:
    """A dask scheduler address, ``tcp://HOST:PORT`` or ``HOST:PORT`` (``type=``).

    Only the form is checked here; whether a scheduler answers is checked
    when connecting (:func:`explorer.distributed.cluster.dask_client`).
    """
    rest = text
    for scheme in SCHEDULER_SCHEMES:
        if text.startswith(scheme):
            rest = text[len(scheme) :]
            break
    host, _, port_text = rest.rpartition(":")
    ok = bool(host) and port_text.isdigit() and 0 < int(port_text) < 65536
    if not ok and not text.startswith("inproc://"):
        msg = f"must be a dask scheduler address such as tcp://HOST:PORT, got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return text


def add_dask_options(parser: argparse.ArgumentParser) -> None:
    """``--dask local:N`` or ``--scheduler ADDRESS`` (``args.dask``,
    ``args.scheduler``; at most one of them).

    Parameters
    ----------
    parser : argparse.ArgumentParser
        The command's parser.
    """
    group = parser.add_argument_group(
        "dask.distributed (default: run in this process)"
    ).add_mutually_exclusive_group()
    group.add_argument(
        "--dask",
        type=dask_local,
        default=None,
        metavar="local:N",
        help="run the chunks as tasks on a new LocalCluster of N worker "
        "processes (one thread each), closed afterwards",
    )
    group.add_argument(
        "--scheduler",
        type=scheduler_address,
        default=None,
        metavar="ADDRESS",
        help="run the chunks as tasks on the dask scheduler at ADDRESS "
        "(its workers must see the same file system)",
    )
