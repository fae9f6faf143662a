"""The record every reader returns: an opened survey, before any pixel is read."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd


@dataclass
class Survey:
    """An opened survey: geometry, catalogue and a reader of cutout rows.

    Attributes
    ----------
    path : pathlib.Path
        The survey file or directory.
    kind : str
        ``"fits-cube"``, ``"fits-dir"`` or ``"hdf5"``.
    bands : list of str
        Band names in channel order.
    size : int
        Cutout side ``S`` in pixels.
    catalog : DataFrame
        Raw catalogue, one row per cutout, in cutout order.
    read : callable
        ``read(start, stop)`` -> ``(stop - start, bands, S, S)`` array of
        rows ``start..stop-1`` (may hold NaN/inf).
    pixel_scale : float or None
        Arcsec per pixel of the cutouts, when the input says.
    """

    path: Path
    kind: str
    bands: list[str]
    size: int
    catalog: pd.DataFrame
    read: Callable[[int, int], np.ndarray]
    _close: list[Callable[[], None]] = field(default_factory=list)
    pixel_scale: float | None = None

    @property
    def n(self) -> int:
        """Number of cutouts."""
        return len(self.catalog)

    def close(self) -> None:
        """Release open files."""
        for close in self._close:
            close()


#: A reader's entry point: ``open(path, catalog)`` -> :class:`Survey`, where
#: ``catalog`` is the user's ``--catalog`` file or None.
Opener = Callable[[Path, Path | None], Survey]
