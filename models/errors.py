"""Errors of the torch side that the explorer's error handling reports."""

from __future__ import annotations

from explorer.errors import LatentskyError


class TrainingError(LatentskyError):
    """Training cannot continue (diverged, no data, unusable settings)."""
