"""Argparse ``type=`` validators shared by the commands and the benchmarks.

Each turns a bad value into :class:`argparse.ArgumentTypeError` naming it, so
argparse prints one line ``... error: argument --flag: ...`` and exits 2.
They live apart from :mod:`explorer.commands.options` because
:mod:`explorer.bench` sits below :mod:`explorer.commands` (which dispatches
to it) and needs them too.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable


def int_at_least(minimum: int) -> Callable[[str], int]:
    """An argparse ``type=`` accepting integers ``>= minimum``.

    Parameters
    ----------
    minimum : int
        Smallest accepted value.

    Returns
    -------
    callable
        ``str -> int``, raising :class:`argparse.ArgumentTypeError` otherwise.
    """

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            msg = f"must be an integer, got {text!r}"
            raise argparse.ArgumentTypeError(msg) from None
        if value < minimum:
            msg = f"must be >= {minimum}, got {text!r}"
            raise argparse.ArgumentTypeError(msg)
        return value

    parse.__name__ = f"int_at_least_{minimum}"
    return parse


positive_int = int_at_least(1)
positive_int.__doc__ = "An integer >= 1 (argparse ``type=``)."
non_negative_int = int_at_least(0)
non_negative_int.__doc__ = "An integer >= 0 (argparse ``type=``)."


def port(text: str) -> int:
    """A TCP port 1-65535, or 0 for any free port (argparse ``type=``)."""
    value = int_at_least(0)(text)
    if value > 65535:
        msg = f"must be a port 1-65535 (or 0 for any free one), got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return value


def _finite_float(text: str, accept: Callable[[float], bool], expected: str) -> float:
    """``float(text)`` when finite and ``accept``-ed, else ArgumentTypeError."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    # NaN fails every comparison; inf is no usable timeout, rate or temperature
    if math.isnan(value) or math.isinf(value) or not accept(value):
        msg = f"must be {expected}, got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return value


def positive_float(text: str) -> float:
    """A finite number > 0 (argparse ``type=``)."""
    return _finite_float(text, lambda v: v > 0, "a positive number")


def non_negative_float(text: str) -> float:
    """A finite number >= 0 (argparse ``type=``)."""
    return _finite_float(text, lambda v: v >= 0, "a number >= 0")


def int_list(text: str) -> list[int]:
    """Comma-separated integers, e.g. ``"3,17,42"`` (blank items are skipped).

    Raises
    ------
    argparse.ArgumentTypeError
        For a non-integer item or an empty list.
    """
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        values = []
    if not values:
        msg = f"{text!r} is not a comma-separated list of integers"
        raise argparse.ArgumentTypeError(msg)
    return values


def positive_int_list(text: str) -> list[int]:
    """Comma-separated integers >= 1, e.g. ``"1,1,1,1"`` (argparse ``type=``)."""
    values = int_list(text)
    if min(values) < 1:
        msg = f"{text!r} is not a comma-separated list of integers >= 1"
        raise argparse.ArgumentTypeError(msg)
    return values


__all__ = [
    "int_at_least",
    "int_list",
    "non_negative_float",
    "non_negative_int",
    "port",
    "positive_float",
    "positive_int",
    "positive_int_list",
]
