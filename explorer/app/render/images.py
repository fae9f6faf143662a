"""Astronomical display of multi-band cutouts, rendered to PNG bytes.

Every stretch comes from :mod:`astropy.visualization`:

``asinh``, ``log``, ``sqrt``, ``linear``
    Per band: limits from the interval (``zscale``:
    :class:`~astropy.visualization.ZScaleInterval`; ``percentile``:
    :class:`~astropy.visualization.PercentileInterval`), then the stretch
    (:class:`AsinhStretch`, :class:`LogStretch`, :class:`SqrtStretch`,
    :class:`LinearStretch`), clipped, as :class:`ImageNormalize` does.
``lupton``
    :func:`~astropy.visualization.make_lupton_rgb`: colour-preserving asinh
    with one scale for all three channels.

Which bands go to R, G, B is :attr:`DisplaySettings.rgb` (band names); by
default the reddest three, reddest in R (:func:`rgb_order`). Three equal
names give a grey image of that band. :class:`DisplaySettings` is the one
value the hover, the grids, the inspector and PNG exports all render with;
:class:`~explorer.app.render.tiles.CutoutImages` caches PNGs keyed by
``(id, settings, size)``.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np

from explorer.app.render.settings import (
    ASINH_A,
    INTERVALS,
    LOG_A,
    STRETCHES,
    DisplaySettings,
    interval_of,
    stretch_of,
)

__all__ = [
    "ASINH_A",
    "INTERVALS",
    "LOG_A",
    "STRETCHES",
    "DisplaySettings",
    "interval_of",
    "render",
    "stretch_band",
]

#: band names, reddest first, used to pick R, G, B channels
_RED_TO_BLUE = ("y", "z", "i", "r", "g", "u")


def stretch_band(band: np.ndarray, settings: DisplaySettings) -> np.ndarray:
    """One band through the interval and stretch of ``settings``, to ``[0, 1]``.

    Parameters
    ----------
    band : ndarray
        ``(S, S)`` pixel values (any flux unit); NaN pixels are drawn black.
    settings : DisplaySettings
        A non-Lupton stretch and its interval.

    Returns
    -------
    ndarray
        ``(S, S)`` float64 in ``[0, 1]``; a constant band gives zeros.
    """
    band = np.asarray(band, dtype=np.float64)
    finite = np.isfinite(band)
    out = np.zeros_like(band)
    if not finite.any():
        return out
    # limits of finite pixels only: one NaN must not blank the whole band
    with np.errstate(all="ignore"):
        vmin, vmax = interval_of(settings).get_limits(band[finite])
    if not np.isfinite(vmax - vmin) or vmax <= vmin:
        return out
    name = "asinh" if settings.stretch == "lupton" else settings.stretch
    out[finite] = _normalise(band[finite], vmin, vmax, stretch_of(name))
    return out


def _normalise(values: np.ndarray, vmin: float, vmax: float, stretch) -> np.ndarray:
    """``ImageNormalize(vmin, vmax, stretch, clip=True)`` without matplotlib.

    :class:`~astropy.visualization.ImageNormalize` subclasses matplotlib's
    ``Normalize`` (not a dependency here); the same transform is astropy's
    composition of :class:`ManualInterval` and the stretch, clipped.
    """
    from astropy.visualization import ManualInterval

    transform = stretch + ManualInterval(vmin, vmax)
    with np.errstate(all="ignore"):
        scaled = transform(np.asarray(values, dtype=np.float64), clip=True)
    return np.clip(np.nan_to_num(np.asarray(scaled, dtype=np.float64)), 0.0, 1.0)


def asinh_band(
    band: np.ndarray, *, lo: float = 1.0, hi: float = 99.5, softening: float = 10.0
) -> np.ndarray:
    """Robust asinh stretch between two percentiles (astropy), to ``[0, 1]``.

    Parameters
    ----------
    band : ndarray
        ``(S, S)`` pixel values.
    lo, hi : float
        Percentiles mapped to 0 and 1 before the asinh.
    softening : float
        ``1 / a`` of :class:`~astropy.visualization.AsinhStretch`:
        ``arcsinh(softening v) / arcsinh(softening)``.

    Returns
    -------
    ndarray
        ``(S, S)`` float64 in ``[0, 1]``; a constant band gives zeros.
    """
    from astropy.visualization import AsinhStretch, AsymmetricPercentileInterval

    band = np.nan_to_num(np.asarray(band, dtype=np.float64))
    with np.errstate(all="ignore"):
        vmin, vmax = AsymmetricPercentileInterval(lo, hi).get_limits(band)
    if not np.isfinite(vmax - vmin) or vmax <= vmin:
        return np.zeros_like(band)
    return _normalise(band, vmin, vmax, AsinhStretch(a=1.0 / softening))


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
    return stretch_band(band, DisplaySettings(stretch="linear", interval="zscale"))


def rgb_order(bands: Sequence[str]) -> list[int]:
    """Default channel indices for R, G, B: reddest known band first.

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


def rgb_indices(bands: Sequence[str], rgb: Sequence[str] | None) -> list[int]:
    """Channel indices of the bands named for R, G, B (None: :func:`rgb_order`).

    Raises
    ------
    ValueError
        If a name in ``rgb`` is not one of ``bands``.
    """
    if rgb is None:
        return rgb_order(bands)
    names = [str(b) for b in bands]
    out = []
    for colour, name in zip("RGB", rgb, strict=True):
        if name not in names:
            msg = f"band {name!r} for {colour} is not one of the store's bands {names}"
            raise ValueError(msg)
        out.append(names.index(name))
    return out


def lupton_rgb(
    cutout: np.ndarray,
    bands: Sequence[str],
    *,
    stretch: float = 0.5,
    q: float = 8.0,
    rgb: Sequence[str] | None = None,
) -> np.ndarray:
    """Lupton et al. (2004) colour image of a multi-band cutout.

    All channels share one scale (the 99.5th percentile of the brightest of
    them, after subtracting each band's median sky), so colours are preserved.

    Parameters
    ----------
    cutout : ndarray
        ``(B, S, S)`` pixels.
    bands : sequence of str
        The ``B`` band names.
    stretch, q : float
        ``make_lupton_rgb`` linear stretch and asinh softening, in units of
        the common scale.
    rgb : sequence of str, optional
        Bands for R, G, B (default :func:`rgb_order`).

    Returns
    -------
    ndarray
        ``(S, S, 3)`` uint8.
    """
    from astropy.visualization import make_lupton_rgb

    cutout = np.nan_to_num(np.asarray(cutout, dtype=np.float64))
    r, g, b = (cutout[i] for i in rgb_indices(bands, rgb))
    channels = [c - np.median(c) for c in (r, g, b)]
    scale = max(float(np.percentile(c, 99.5)) for c in channels)
    if not np.isfinite(scale) or scale <= 0:
        scale = 1.0
    channels = [c / scale for c in channels]
    # astropy computes f(I)/I everywhere and masks I <= 0 afterwards
    # (np.where): the 0/0 warnings of zero-intensity pixels are spurious
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        return make_lupton_rgb(*channels, minimum=0.0, stretch=stretch, Q=q)


def render(
    cutout: np.ndarray,
    bands: Sequence[str],
    settings: DisplaySettings | str = "lupton",
) -> np.ndarray:
    """Render a cutout to an 8-bit RGB image.

    Parameters
    ----------
    cutout : ndarray
        ``(B, S, S)`` float pixels.
    bands : sequence of str
        The ``B`` band names.
    settings : DisplaySettings or str
        Display settings, or just a stretch name (default settings otherwise).

    Returns
    -------
    ndarray
        ``(S, S, 3)`` uint8.

    Raises
    ------
    ValueError
        If the stretch is unknown, a band for R, G or B is not in ``bands``,
        or the cutout is not ``(B, S, S)`` with ``B == len(bands)``.
    """
    settings = DisplaySettings.coerce(settings)
    cutout = np.asarray(cutout)
    if cutout.ndim != 3 or cutout.shape[0] != len(bands):
        msg = f"cutout has shape {cutout.shape}, expected ({len(bands)}, S, S)"
        raise ValueError(msg)
    order = rgb_indices(bands, settings.rgb)
    if settings.stretch == "lupton" and len(set(order)) > 1:
        return lupton_rgb(cutout, bands, rgb=settings.rgb)
    # one band (or the same band thrice) is a grey per-band stretch
    stretched = {i: stretch_band(cutout[i], settings) for i in set(order)}
    return _to_uint8(np.stack([stretched[i] for i in order], axis=-1))


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
    settings: DisplaySettings | str = "lupton",
    size: int | None = None,
) -> bytes:
    """:func:`render` then :func:`to_png` in one call."""
    return to_png(render(cutout, bands, settings), size)
