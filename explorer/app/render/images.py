"""Astronomical display stretches for multi-band cutouts, rendered to PNG bytes.

Stretches (``STRETCHES``):

``asinh``
    Per band: robust scaling to ``[0, 1]`` between the ``lo``/``hi``
    percentiles, then ``arcsinh(a * v) / arcsinh(a)`` (``a`` = softening).
    Up to three bands become R, G, B (reddest band in R); one band is grey.
``zscale``
    Per band: IRAF zscale limits (:class:`astropy.visualization.ZScaleInterval`),
    linear between them.
``lupton``
    :func:`astropy.visualization.make_lupton_rgb` with bands mapped
    ``z, r, g`` → R, G, B (colour-preserving asinh, one scale for all bands).
``grey``
    A single band (``band`` index, default the middle one) with ``asinh``.

:class:`CutoutImages` reads cutouts from a :class:`~explorer.store.Store` and
keeps an LRU cache of PNG bytes keyed by ``(id, stretch, size, band)``.
"""

from __future__ import annotations

import io
import threading
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np

STRETCHES = ("lupton", "asinh", "zscale", "grey")
#: band names, reddest first, used to pick R, G, B channels
_RED_TO_BLUE = ("y", "z", "i", "r", "g", "u")


def asinh_band(
    band: np.ndarray, *, lo: float = 1.0, hi: float = 99.5, softening: float = 10.0
) -> np.ndarray:
    """Robust per-band asinh stretch to ``[0, 1]``.

    Parameters
    ----------
    band : ndarray
        ``(S, S)`` pixel values (any flux unit).
    lo, hi : float
        Percentiles mapped to 0 and 1 before the asinh.
    softening : float
        ``a`` in ``arcsinh(a v) / arcsinh(a)``; larger brings out faint light.

    Returns
    -------
    ndarray
        ``(S, S)`` float64 in ``[0, 1]``; a constant band gives zeros.
    """
    band = np.asarray(band, dtype=np.float64)
    vmin, vmax = np.percentile(band, [lo, hi])
    if not np.isfinite(vmax - vmin) or vmax <= vmin:
        return np.zeros_like(band)
    scaled = np.clip((band - vmin) / (vmax - vmin), 0.0, 1.0)
    return np.arcsinh(softening * scaled) / np.arcsinh(softening)


def zscale_band(band: np.ndarray) -> np.ndarray:
    """Linear stretch between the zscale limits, clipped to ``[0, 1]``.

    Parameters
    ----------
    band : ndarray
        ``(S, S)`` pixel values.

    Returns
    -------
    ndarray
        ``(S, S)`` float64 in ``[0, 1]``; a constant band gives zeros.
    """
    from astropy.visualization import ZScaleInterval

    band = np.asarray(band, dtype=np.float64)
    vmin, vmax = ZScaleInterval().get_limits(band)
    if not np.isfinite(vmax - vmin) or vmax <= vmin:
        return np.zeros_like(band)
    return np.clip((band - vmin) / (vmax - vmin), 0.0, 1.0)


def rgb_order(bands: Sequence[str]) -> list[int]:
    """Channel indices for R, G, B: reddest known band first.

    Bands named in ``y z i r g u`` are sorted red to blue; unknown names keep
    their order and are assumed to run blue to red (the survey convention), so
    the last band goes to R. Fewer than three bands repeat the last index.

    Parameters
    ----------
    bands : sequence of str
        Band names in cutout channel order.

    Returns
    -------
    list of int
        Three channel indices ``[R, G, B]``.
    """
    if not bands:
        msg = "no bands to map to RGB"
        raise ValueError(msg)
    names = [str(b).lower() for b in bands]
    if all(n in _RED_TO_BLUE for n in names):
        order = sorted(range(len(names)), key=lambda i: _RED_TO_BLUE.index(names[i]))
    else:
        order = list(range(len(names)))[::-1]
    order = order[:3]
    while len(order) < 3:
        order.append(order[-1])
    return order


def lupton_rgb(
    cutout: np.ndarray, bands: Sequence[str], *, stretch: float = 0.5, q: float = 8.0
) -> np.ndarray:
    """Lupton et al. (2004) colour image of a multi-band cutout.

    All channels share one scale (the 99.5th percentile of the brightest of
    them, after subtracting each band's median sky), so colours are preserved.

    Parameters
    ----------
    cutout : ndarray
        ``(B, S, S)`` pixels.
    bands : sequence of str
        The ``B`` band names (``z, r, g`` go to R, G, B).
    stretch, q : float
        ``make_lupton_rgb`` linear stretch and asinh softening, in units of
        the common scale.

    Returns
    -------
    ndarray
        ``(S, S, 3)`` uint8.
    """
    from astropy.visualization import make_lupton_rgb

    cutout = np.asarray(cutout, dtype=np.float64)
    r, g, b = (cutout[i] for i in rgb_order(bands))
    channels = [c - np.median(c) for c in (r, g, b)]
    scale = max(float(np.percentile(c, 99.5)) for c in channels)
    if not np.isfinite(scale) or scale <= 0:
        scale = 1.0
    channels = [c / scale for c in channels]
    # astropy computes f(I)/I everywhere and masks I <= 0 afterwards
    # (np.where): the 0/0 warnings of zero-intensity pixels are spurious
    with np.errstate(invalid="ignore", divide="ignore"):
        return make_lupton_rgb(*channels, minimum=0.0, stretch=stretch, Q=q)


def render(
    cutout: np.ndarray,
    bands: Sequence[str],
    stretch: str = "lupton",
    *,
    band: int | None = None,
) -> np.ndarray:
    """Render a cutout to an 8-bit RGB image.

    Parameters
    ----------
    cutout : ndarray
        ``(B, S, S)`` float pixels.
    bands : sequence of str
        The ``B`` band names.
    stretch : {"lupton", "asinh", "zscale", "grey"}
        Display stretch (see the module docstring).
    band : int, optional
        Band index for ``grey`` (default: the middle band).

    Returns
    -------
    ndarray
        ``(S, S, 3)`` uint8.

    Raises
    ------
    ValueError
        If the stretch is unknown, the cutout is not ``(B, S, S)`` with
        ``B == len(bands)``, or ``band`` is out of range.
    """
    cutout = np.asarray(cutout)
    if cutout.ndim != 3 or cutout.shape[0] != len(bands):
        msg = f"cutout has shape {cutout.shape}, expected ({len(bands)}, S, S)"
        raise ValueError(msg)
    if stretch not in STRETCHES:
        msg = f"unknown stretch {stretch!r}; choose one of {', '.join(STRETCHES)}"
        raise ValueError(msg)
    if stretch == "grey" or len(bands) == 1:
        index = len(bands) // 2 if band is None else int(band)
        if not 0 <= index < len(bands):
            msg = f"band index {index} out of range for bands {list(bands)}"
            raise ValueError(msg)
        per_band = zscale_band if stretch == "zscale" else asinh_band
        grey = per_band(cutout[index])
        return _to_uint8(np.stack([grey] * 3, axis=-1))
    if stretch == "lupton":
        return lupton_rgb(cutout, bands)
    per_band = asinh_band if stretch == "asinh" else zscale_band
    stretched = {i: per_band(cutout[i]) for i in set(rgb_order(bands))}
    return _to_uint8(np.stack([stretched[i] for i in rgb_order(bands)], axis=-1))


def _to_uint8(image: np.ndarray) -> np.ndarray:
    return np.round(np.clip(image, 0.0, 1.0) * 255.0).astype(np.uint8)


def to_png(rgb: np.ndarray, size: int | None = None, *, smooth: bool = False) -> bytes:
    """Encode an ``(S, S, 3)`` uint8 image as PNG, upscaled to ``size`` pixels.

    Parameters
    ----------
    rgb : ndarray
        ``(H, W, 3)`` uint8.
    size : int, optional
        Output side in pixels (default: unchanged).
    smooth : bool
        Bilinear instead of nearest-neighbour resampling.

    Returns
    -------
    bytes
        PNG file contents.
    """
    from PIL import Image

    image = Image.fromarray(np.ascontiguousarray(rgb), mode="RGB")
    if size is not None and size != image.width:
        resample = Image.Resampling.BILINEAR if smooth else Image.Resampling.NEAREST
        image = image.resize((int(size), int(size)), resample=resample)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def cutout_png(
    cutout: np.ndarray,
    bands: Sequence[str],
    stretch: str = "lupton",
    size: int | None = None,
    *,
    band: int | None = None,
) -> bytes:
    """:func:`render` then :func:`to_png` in one call."""
    return to_png(render(cutout, bands, stretch, band=band), size)


class CutoutImages:
    """PNG renderings of a store's cutouts with a thread-safe LRU cache.

    Parameters
    ----------
    store : explorer.store.Store
        Source of cutouts (read by id).
    max_items : int
        Number of PNGs kept (a 160 px PNG is ~20-60 kB).
    """

    def __init__(self, store, max_items: int = 4096) -> None:
        self.store = store
        self.max_items = int(max_items)
        self._cache: OrderedDict[tuple, bytes] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def png(
        self,
        source_id: int,
        stretch: str = "lupton",
        size: int = 128,
        band: int | None = None,
    ) -> bytes:
        """PNG bytes of source ``source_id`` (cached).

        Raises
        ------
        explorer.errors.StoreError
            If the id is not in the store.
        ValueError
            For an unknown stretch or band.
        """
        key = (int(source_id), stretch, int(size), band)
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                self.hits += 1
                return self._cache[key]
        cutout = self.store.cutout(int(source_id))
        data = cutout_png(cutout, self.store.bands, stretch, size, band=band)
        with self._lock:
            self.misses += 1
            self._cache[key] = data
            while len(self._cache) > self.max_items:
                self._cache.popitem(last=False)
        return data

    def many(
        self,
        ids: Sequence[int],
        stretch: str = "lupton",
        size: int = 96,
        band: int | None = None,
    ) -> list[bytes]:
        """PNGs of several sources; uncached cutouts are read in one batch."""
        ids = [int(i) for i in ids]
        with self._lock:
            missing = [
                i for i in ids if (i, stretch, int(size), band) not in self._cache
            ]
        if missing:
            rows = self.store.rows_of(missing)
            order = np.argsort(rows)
            block = self.store.cutouts_at(rows[order])
            with self._lock:
                for pos, k in enumerate(order):
                    data = cutout_png(
                        block[pos], self.store.bands, stretch, size, band=band
                    )
                    self._cache[(missing[k], stretch, int(size), band)] = data
                    self.misses += 1
                while len(self._cache) > self.max_items:
                    self._cache.popitem(last=False)
        return [self.png(i, stretch, size, band) for i in ids]
