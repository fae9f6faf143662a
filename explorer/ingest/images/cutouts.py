"""S x S cutouts centred on each source, every band on the first band's grid.

The reference band's tile gives each cutout its pixel grid: the cutout is
placed with :func:`astropy.nddata.utils.overlap_slices` in ``"partial"`` mode
(the placement rule of ``Cutout2D(mode="partial")``, applied directly so that
integer and big-endian memory-mapped images are cut without a per-source WCS
copy), pixels outside the image are NaN. A band on the same grid is cut the
same way; a band on another grid (other scale, rotation or tiling) is
resampled with ``reproject`` from a small section of its image around the
cutout's footprint (never the whole image per source), and scaled by the
ratio of pixel areas so that pixel values stay flux per reference pixel.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from explorer.ingest.images.bands import Band, Tile
from explorer.ingest.images.placement import Placement, sky_to_pixels

log = logging.getLogger(__name__)

#: Extra source pixels read around a footprint (bilinear needs 1, adaptive more).
SECTION_MARGIN = 4
#: Grids agreeing to this many pixels at their corners are the same grid.
SAME_GRID_TOLERANCE_PX = 1e-3
RESAMPLERS = ("interp", "adaptive")


@dataclass
class CutoutBlock:
    """Cutouts of a chunk of sources.

    Attributes
    ----------
    pixels : ndarray
        ``(n, bands, S, S)`` float32, NaN outside the images and in blanks.
    edge : ndarray
        ``(n,)`` float32 largest fraction of a band's cutout outside its image.
    n_saturated : ndarray
        ``(n,)`` int32 saturated pixels (at or above the ``SATURATE`` level).
    position : ndarray
        ``(n, 2)`` float64 ``(x, y)`` of the source inside its cutout.
    """

    pixels: np.ndarray
    edge: np.ndarray
    n_saturated: np.ndarray
    position: np.ndarray


def cut_same_grid(
    tile: Tile, x: float, y: float, size: int
) -> tuple[np.ndarray, tuple[int, int]]:
    """The ``size`` x ``size`` cutout of ``tile`` centred on pixel ``(x, y)``.

    Parameters
    ----------
    tile : Tile
        The image.
    x, y : float
        0-based pixel position of the source (inside the image).
    size : int
        Cutout side in pixels.

    Returns
    -------
    cutout : ndarray
        ``(size, size)`` float32, NaN outside the image.
    origin : tuple of int
        ``(x0, y0)``: image pixel of the cutout's pixel ``[0, 0]`` (may be < 0).
    """
    from astropy.nddata.utils import overlap_slices

    large, small = overlap_slices(tile.shape, (size, size), (y, x), mode="partial")
    cutout = np.full((size, size), np.nan, dtype=np.float32)
    cutout[small] = tile.read(*large)
    origin = (large[1].start - small[1].start, large[0].start - small[0].start)
    return cutout, origin


def shifted_wcs(wcs: Any, x0: int, y0: int) -> Any:
    """``wcs`` of the sub-grid whose pixel ``[0, 0]`` is pixel ``(x0, y0)``."""
    out = wcs.deepcopy()
    out.wcs.crpix = out.wcs.crpix - np.array([x0, y0], dtype=float)
    if out.sip is not None:
        from astropy.wcs import Sip

        sip = out.sip
        out.sip = Sip(sip.a, sip.b, sip.ap, sip.bp, sip.crpix - np.array([x0, y0]))
    return out


class Resampler:
    """Resamples sections of one band's tiles onto cutout grids of the reference."""

    def __init__(self, method: str = "interp") -> None:
        if method not in RESAMPLERS:
            msg = f"resampling method {method!r}: expected one of {RESAMPLERS}"
            raise ValueError(msg)
        self.method = method
        self._same: dict[tuple[int, int], bool] = {}

    def same_grid(self, ref: Tile, tile: Tile) -> bool:
        """Whether ``tile`` shares ``ref``'s pixel grid (cached per pair)."""
        key = (id(ref), id(tile))
        if key not in self._same:
            self._same[key] = ref is tile or _grids_match(ref, tile)
        return self._same[key]

    def cut(
        self, tile: Tile, ref: Tile, origin: tuple[int, int], size: int
    ) -> tuple[np.ndarray, int, int]:
        """Resample ``tile`` onto the cutout grid at ``origin`` of ``ref``.

        Returns
        -------
        cutout : ndarray
            ``(size, size)`` float32, NaN where the grid leaves ``tile``.
        outside : int
            Cutout pixels outside ``tile``.
        n_saturated : int
            Saturated pixels of ``tile`` in the section read (the cutout's
            footprint plus :data:`SECTION_MARGIN`).
        """
        out_wcs = shifted_wcs(ref.wcs, *origin)
        section = _source_section(tile, out_wcs, size)
        if section is None:
            return np.full((size, size), np.nan, dtype=np.float32), size * size, 0
        ys, xs = section
        data = tile.read(ys, xs)
        saturated = _saturated(data, tile)
        section_wcs = tile.wcs.slice((ys, xs))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            if self.method == "adaptive":
                from reproject import reproject_adaptive

                out, footprint = reproject_adaptive(
                    (data, section_wcs),
                    out_wcs,
                    shape_out=(size, size),
                    conserve_flux=True,
                )
            else:
                from reproject import reproject_interp

                out, footprint = reproject_interp(
                    (data, section_wcs),
                    out_wcs,
                    shape_out=(size, size),
                    roundtrip_coords=False,
                )
                out = out * _area_ratio(ref, tile)
        outside = int((footprint == 0).sum())
        out = np.where(footprint > 0, out, np.nan).astype(np.float32)
        return out, outside, saturated


def _area_ratio(ref: Tile, tile: Tile) -> float:
    """Reference pixel area over ``tile``'s pixel area (flux per pixel rescaling)."""
    from astropy.wcs.utils import proj_plane_pixel_area

    return float(proj_plane_pixel_area(ref.wcs) / proj_plane_pixel_area(tile.wcs))


def _grids_match(ref: Tile, tile: Tile) -> bool:
    """Whether ``ref``'s corners and centre land on the same pixels of ``tile``."""
    if ref.shape != tile.shape:
        return False
    ny, nx = ref.shape
    xs = np.array([0.0, nx - 1, 0.0, nx - 1, (nx - 1) / 2])
    ys = np.array([0.0, 0.0, ny - 1, ny - 1, (ny - 1) / 2])
    ra, dec = ref.wcs.pixel_to_world_values(xs, ys)
    tx, ty = sky_to_pixels(tile, np.asarray(ra), np.asarray(dec))
    err = np.hypot(tx - xs, ty - ys)
    return bool(np.all(np.isfinite(err)) and err.max() < SAME_GRID_TOLERANCE_PX)


def _source_section(tile: Tile, out_wcs: Any, size: int) -> tuple[slice, slice] | None:
    """Rows and columns of ``tile`` covering the cutout grid (+ margin), or None."""
    edge = np.linspace(-0.5, size - 0.5, 9)
    gx = np.concatenate([edge, edge, np.full(9, -0.5), np.full(9, size - 0.5)])
    gy = np.concatenate([np.full(9, -0.5), np.full(9, size - 0.5), edge, edge])
    ra, dec = out_wcs.pixel_to_world_values(gx, gy)
    tx, ty = sky_to_pixels(tile, np.asarray(ra), np.asarray(dec))
    if not (np.isfinite(tx).all() and np.isfinite(ty).all()):
        return None
    ny, nx = tile.shape
    x0 = max(int(np.floor(tx.min())) - SECTION_MARGIN, 0)
    x1 = min(int(np.ceil(tx.max())) + SECTION_MARGIN + 1, nx)
    y0 = max(int(np.floor(ty.min())) - SECTION_MARGIN, 0)
    y1 = min(int(np.ceil(ty.max())) + SECTION_MARGIN + 1, ny)
    if x1 <= x0 or y1 <= y0:
        return None
    return slice(y0, y1), slice(x0, x1)


def _saturated(values: np.ndarray, tile: Tile) -> int:
    """Pixels of ``values`` at or above ``tile``'s saturation level."""
    if tile.saturation is None:
        return 0
    with np.errstate(invalid="ignore"):
        return int((values >= tile.saturation).sum())


def cut_sources(
    bands: list[Band],
    placements: list[Placement],
    rows: np.ndarray,
    size: int,
    resampler: Resampler,
) -> CutoutBlock:
    """Cut every band around the sources ``rows``.

    Parameters
    ----------
    bands : list of Band
        The first is the reference grid.
    placements : list of Placement
        One per band, for all sources.
    rows : ndarray
        ``(n,)`` indices of the sources to cut (each on every band).
    size : int
        Cutout side ``S``.
    resampler : Resampler
        For bands on another grid.

    Returns
    -------
    CutoutBlock
    """
    n, nb = len(rows), len(bands)
    pixels = np.empty((n, nb, size, size), dtype=np.float32)
    edge = np.zeros(n, dtype=np.float32)
    n_saturated = np.zeros(n, dtype=np.int32)
    position = np.empty((n, 2), dtype=np.float64)
    ref_place = placements[0]
    for i, row in enumerate(rows):
        ref = bands[0].tiles[ref_place.tile[row]]
        x, y = ref_place.x[row], ref_place.y[row]
        cutout, origin = cut_same_grid(ref, x, y, size)
        position[i] = (x - origin[0], y - origin[1])
        pixels[i, 0] = cutout
        worst = _outside_count(ref, origin, size)
        n_saturated[i] = _saturated(cutout, ref)
        for b in range(1, nb):
            tile = bands[b].tiles[placements[b].tile[row]]
            if resampler.same_grid(ref, tile):
                pixels[i, b] = cut_same_grid(tile, x, y, size)[0]
                n_saturated[i] += _saturated(pixels[i, b], tile)
                continue
            pixels[i, b], outside, saturated = resampler.cut(tile, ref, origin, size)
            worst = max(worst, outside)
            n_saturated[i] += saturated
        edge[i] = worst / (size * size)
    return CutoutBlock(pixels, edge, n_saturated, position)


def _outside_count(tile: Tile, origin: tuple[int, int], size: int) -> int:
    """Pixels of the cutout at ``origin`` that fall outside ``tile``."""
    ny, nx = tile.shape
    x0, y0 = origin
    inside_x = max(0, min(x0 + size, nx) - max(x0, 0))
    inside_y = max(0, min(y0 + size, ny) - max(y0, 0))
    return size * size - inside_x * inside_y
