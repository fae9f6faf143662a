"""Exceptions that carry a message meant for the user.

The CLI prints these as one line and exits with status 2; anything else is a
bug and keeps its traceback.
"""

from __future__ import annotations


class LatentskyError(Exception):
    """Base class of every error caused by the user's input or files."""


class StoreError(LatentskyError):
    """A store is missing, malformed, of a newer format, or used wrongly."""


class IngestError(LatentskyError):
    """A survey file cannot be read into a store (names the file and problem)."""


class DataError(LatentskyError):
    """Input arrays are unusable (NaN rows, wrong shape, too few members...)."""
