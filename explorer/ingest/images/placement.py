"""Sky positions onto tiles: which tile of a band holds each source, and where.

A source belongs to the tile whose footprint contains it; where tiles overlap,
to the one in which it lies farthest from an edge, so that its cutout is the
least padded and every source is assigned exactly once.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from explorer.ingest.images.bands import Band, Tile


@dataclass
class Placement:
    """Where each source lies in one band.

    Attributes
    ----------
    tile : ndarray
        ``(n,)`` int index into the band's tiles, -1 when off every tile.
    x, y : ndarray
        ``(n,)`` float64 0-based pixel coordinates in that tile (NaN when off).
    """

    tile: np.ndarray
    x: np.ndarray
    y: np.ndarray

    @property
    def on_image(self) -> np.ndarray:
        """``(n,)`` bool: the source lies on some tile."""
        return self.tile >= 0


def sky_to_pixels(
    tile: Tile, ra: np.ndarray, dec: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """0-based pixel coordinates of ``(ra, dec)`` degrees in ``tile`` (NaN if invalid).

    Parameters
    ----------
    tile : Tile
        With a celestial WCS.
    ra, dec : ndarray
        ``(n,)`` degrees.

    Returns
    -------
    x, y : ndarray
        ``(n,)`` float64 pixels (column, row).
    """
    with warnings.catch_warnings(), np.errstate(invalid="ignore"):
        # positions behind the projection's tangent plane are NaN, not errors
        warnings.simplefilter("ignore")
        x, y = tile.wcs.world_to_pixel_values(ra, dec)
    return np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)


def interior_distance(
    x: np.ndarray, y: np.ndarray, shape: tuple[int, int]
) -> np.ndarray:
    """Pixels from ``(x, y)`` to the nearest image edge (<= 0 outside, NaN: -inf).

    Pixel ``i`` spans ``[i - 0.5, i + 0.5)``, so the image spans
    ``[-0.5, n - 0.5)`` along each axis.
    """
    ny, nx = shape
    with np.errstate(invalid="ignore"):
        d = np.minimum.reduce([x + 0.5, nx - 0.5 - x, y + 0.5, ny - 0.5 - y])
    return np.where(np.isfinite(d), d, -np.inf)


def place(band: Band, ra: np.ndarray, dec: np.ndarray) -> Placement:
    """Assign each source to the tile of ``band`` that contains it.

    Parameters
    ----------
    band : Band
        Tiles with celestial WCSs.
    ra, dec : ndarray
        ``(n,)`` degrees.

    Returns
    -------
    Placement
    """
    n = len(ra)
    best = np.full(n, -np.inf)
    tile = np.full(n, -1, dtype=np.int64)
    x = np.full(n, np.nan)
    y = np.full(n, np.nan)
    for index, t in enumerate(band.tiles):
        tx, ty = sky_to_pixels(t, ra, dec)
        d = interior_distance(tx, ty, t.shape)
        better = (d > 0) & (d > best)
        best[better] = d[better]
        tile[better] = index
        x[better] = tx[better]
        y[better] = ty[better]
    return Placement(tile, x, y)
