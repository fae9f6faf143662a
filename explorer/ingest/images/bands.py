"""Per-band survey images: ``NAME=FILE[HDU]`` specs, tile lists, MEF files, WCS checks.

A band is one or more *tiles*; a tile is one 2-D image HDU with a celestial
WCS, opened memory-mapped and read by section (:meth:`Tile.read`), never
whole per source. Integer images keep their raw values on disk
(``do_not_scale_image_data``) and ``BSCALE``/``BZERO``/``BLANK`` are applied
to each section read, so that a scaled image is not decoded whole by astropy.
"""

from __future__ import annotations

import logging
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from explorer.errors import IngestError
from explorer.ingest.fits_common import fits_errors

log = logging.getLogger(__name__)

#: ``FILE[3]`` or ``FILE[SCI]``: an HDU chosen by index or EXTNAME.
_HDU_SUFFIX = re.compile(r"^(?P<file>.+)\[(?P<hdu>[^\[\]]+)\]$")
#: Header keywords holding the saturation level, first found wins.
_SATURATION_KEYS = ("SATURATE", "SATLEVEL")


@dataclass
class Tile:
    """One image HDU of a band.

    Attributes
    ----------
    path : pathlib.Path
        The FITS file.
    hdu : int
        Index of the image HDU in the file.
    shape : tuple of int
        ``(ny, nx)`` in pixels.
    wcs : astropy.wcs.WCS or None
        Celestial WCS (None when the header has none; refused later).
    saturation : float or None
        Pixel value at and above which a pixel is saturated (``SATURATE``).
    """

    path: Path
    hdu: int
    shape: tuple[int, int]
    wcs: Any
    saturation: float | None
    _array: Any = field(repr=False)
    _bscale: float = 1.0
    _bzero: float = 0.0
    _blank: int | None = None

    @property
    def label(self) -> str:
        """``file[hdu]`` for messages."""
        return f"{self.path}[{self.hdu}]"

    def read(self, ys: slice, xs: slice) -> np.ndarray:
        """Pixels of a section, scaled, blanks as NaN.

        Parameters
        ----------
        ys, xs : slice
            Rows and columns inside the image (start >= 0).

        Returns
        -------
        ndarray
            ``(rows, columns)`` float32, native byte order.
        """
        raw = np.asarray(self._array[ys, xs])
        values = raw.astype(np.float32)
        if self._blank is not None and raw.dtype.kind in "iu":
            values[raw == self._blank] = np.nan
        if self._bscale != 1.0 or self._bzero != 0.0:
            values = values * np.float32(self._bscale) + np.float32(self._bzero)
        return values

    def read_all(self) -> np.ndarray:
        """The whole image as ``(ny, nx)`` float32 (for detection only)."""
        return self.read(slice(0, self.shape[0]), slice(0, self.shape[1]))


@dataclass
class Band:
    """A named band: its tiles in the order given."""

    name: str
    tiles: list[Tile]


class ImageFiles:
    """The open FITS files behind some bands; ``close()`` releases them all."""

    def __init__(self) -> None:
        self._open: dict[Path, Any] = {}

    def hdul(self, path: Path) -> Any:
        """The memory-mapped HDUList of ``path`` (opened once).

        Raises
        ------
        IngestError
            If the file is missing or not FITS.
        """
        path = Path(path)
        if path in self._open:
            return self._open[path]
        if not path.is_file():
            msg = f"image {path} does not exist"
            raise IngestError(msg)
        from astropy.io import fits

        with fits_errors(path):
            hdul = fits.open(path, memmap=True, do_not_scale_image_data=True)
            len(hdul)  # reads every header now: a broken file fails here
        self._open[path] = hdul
        return hdul

    def close(self) -> None:
        """Close every file opened."""
        for hdul in self._open.values():
            hdul.close()
        self._open.clear()


def _celestial_wcs(header: Any, where: str) -> Any:
    """The celestial part of the header's WCS, or None when it has none."""
    from astropy.wcs import WCS, FITSFixedWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FITSFixedWarning)
        try:
            wcs = WCS(header)
        except Exception as exc:  # wcslib raises many types for a bad header
            msg = f"image {where}: unreadable WCS ({type(exc).__name__}: {exc})"
            raise IngestError(msg) from exc
    if not wcs.has_celestial:
        return None
    celestial = wcs.celestial
    return celestial if celestial.naxis == 2 else None


def _image_hdu_indices(hdul: Any) -> list[int]:
    """Indices of the HDUs holding a 2-D image (length-1 axes ignored)."""
    found = []
    for i, hdu in enumerate(hdul):
        if hdu.is_image and hdu.header.get("NAXIS", 0) >= 2:
            axes = [
                hdu.header.get(f"NAXIS{k}", 1)
                for k in range(1, hdu.header["NAXIS"] + 1)
            ]
            if sum(1 for n in axes if n > 1) == 2 or len(axes) == 2:
                found.append(i)
    return found


def open_tile(files: ImageFiles, path: Path, hdu: str | int | None) -> Tile:
    """Open one image HDU as a :class:`Tile`.

    Parameters
    ----------
    files : ImageFiles
        Keeps the file open.
    path : pathlib.Path
        FITS file.
    hdu : str, int or None
        Index or EXTNAME; None picks the first HDU holding a 2-D image.

    Returns
    -------
    Tile

    Raises
    ------
    IngestError
        Missing file, no such HDU, no 2-D image in it.
    """
    hdul = files.hdul(path)
    index = _hdu_index(hdul, path, hdu)
    item = hdul[index]
    where = f"{path}[{index}]"
    with fits_errors(path):
        data = item.data
    if data is None or data.ndim < 2:
        shape = getattr(data, "shape", None)
        msg = f"image {where}: HDU holds no 2-D image (shape {shape})"
        raise IngestError(msg)
    while data.ndim > 2 and data.shape[0] == 1:
        data = data[0]
    if data.ndim != 2:
        msg = f"image {where}: expected a 2-D image, got shape {data.shape}"
        raise IngestError(msg)
    header = item.header
    saturation = next((float(header[k]) for k in _SATURATION_KEYS if k in header), None)
    blank = header.get("BLANK") if data.dtype.kind in "iu" else None
    return Tile(
        path=Path(path),
        hdu=index,
        shape=(int(data.shape[0]), int(data.shape[1])),
        wcs=_celestial_wcs(header, where),
        saturation=saturation,
        _array=data,
        _bscale=float(header.get("BSCALE", 1.0)),
        _bzero=float(header.get("BZERO", 0.0)),
        _blank=int(blank) if blank is not None else None,
    )


def _hdu_index(hdul: Any, path: Path, hdu: str | int | None) -> int:
    """The index of ``hdu`` (index or EXTNAME) in ``hdul``, or the first image."""
    if hdu is None:
        images = _image_hdu_indices(hdul)
        if not images:
            msg = f"image {path}: no HDU holds a 2-D image"
            raise IngestError(msg)
        return images[0]
    text = str(hdu).strip()
    if text.lstrip("-").isdigit():
        index = int(text)
        if not 0 <= index < len(hdul):
            msg = f"image {path}: no HDU {index} (the file has {len(hdul)})"
            raise IngestError(msg)
        return index
    names = [h.name.upper() for h in hdul]
    if text.upper() not in names:
        msg = f"image {path}: no HDU named {text!r} (HDUs: {', '.join(names)})"
        raise IngestError(msg)
    return names.index(text.upper())


def split_hdu(text: str) -> tuple[str, str | None]:
    """``"f.fits[2]"`` -> ``("f.fits", "2")``; no suffix -> ``(text, None)``."""
    match = _HDU_SUFFIX.match(text.strip())
    if match:
        return match["file"], match["hdu"]
    return text.strip(), None


def parse_band_spec(spec: str) -> tuple[str, str]:
    """``"g=img.fits[1]"`` -> ``("g", "img.fits[1]")``.

    Raises
    ------
    IngestError
        If the spec is not ``NAME=FILE`` with both parts non-empty.
    """
    name, sep, target = spec.partition("=")
    if not sep or not name.strip() or not target.strip():
        msg = f"--band {spec!r}: expected NAME=FILE, NAME=FILE[HDU] or NAME=@LIST"
        raise IngestError(msg)
    return name.strip(), target.strip()


def _tile_list(list_path: Path) -> list[str]:
    """Entries of a tile list file: one image per line, ``#`` comments skipped."""
    if not list_path.is_file():
        msg = f"tile list {list_path} does not exist"
        raise IngestError(msg)
    entries = []
    for line in list_path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            file, hdu = split_hdu(line)
            resolved = (
                Path(file) if Path(file).is_absolute() else list_path.parent / file
            )
            entries.append(f"{resolved}[{hdu}]" if hdu is not None else str(resolved))
    if not entries:
        msg = f"tile list {list_path} names no image"
        raise IngestError(msg)
    return entries


def open_band(files: ImageFiles, spec: str) -> Band:
    """Open a ``NAME=FILE``, ``NAME=FILE[HDU]`` or ``NAME=@LIST`` band.

    Parameters
    ----------
    files : ImageFiles
        Keeps the files open.
    spec : str
        The ``--band`` value.

    Returns
    -------
    Band

    Raises
    ------
    IngestError
        Bad spec, missing file or tile list, no 2-D image.
    """
    name, target = parse_band_spec(spec)
    entries = _tile_list(Path(target[1:])) if target.startswith("@") else [target]
    tiles = []
    for entry in entries:
        file, hdu = split_hdu(entry)
        tiles.append(open_tile(files, Path(file), hdu))
    return Band(name, tiles)


def open_mef(files: ImageFiles, path: Path) -> list[Band]:
    """One band per image HDU of a multi-extension FITS file.

    Band names come from ``FILTER`` or ``BAND``, else ``EXTNAME``, else
    ``hdu<i>``.

    Raises
    ------
    IngestError
        No image HDU, or two HDUs with the same band name.
    """
    hdul = files.hdul(path)
    bands = []
    for index in _image_hdu_indices(hdul):
        header = hdul[index].header
        name = next(
            (
                str(header[k]).strip()
                for k in ("FILTER", "BAND")
                if str(header.get(k, "")).strip()
            ),
            "",
        )
        name = name or (hdul[index].name if hdul[index].name != "PRIMARY" else "")
        bands.append(Band(name or f"hdu{index}", [open_tile(files, path, index)]))
    if not bands:
        msg = f"--mef {path}: no HDU holds a 2-D image"
        raise IngestError(msg)
    names = [b.name for b in bands]
    if len(set(names)) != len(names):
        msg = f"--mef {path}: band names {names} from FILTER/BAND/EXTNAME repeat"
        raise IngestError(msg)
    return bands


def check_bands(bands: list[Band]) -> None:
    """Refuse duplicate names, and tiles without a celestial WCS.

    Raises
    ------
    IngestError
        Naming the band and file; when no band has a WCS and their shapes
        differ, says that there is no WCS to reproject with.
    """
    names = [b.name for b in bands]
    if len(set(names)) != len(names):
        msg = f"band names {names} repeat; each --band needs its own NAME"
        raise IngestError(msg)
    tiles = [(b, t) for b in bands for t in b.tiles]
    missing = [(b, t) for b, t in tiles if t.wcs is None]
    if not missing:
        return
    shapes = {t.shape for _, t in tiles}
    if len(missing) == len(tiles) and len(shapes) > 1:
        shown = ", ".join(
            f"{b.name} {t.label} {t.shape[1]}x{t.shape[0]}" for b, t in tiles[:4]
        )
        msg = (
            f"bands have incompatible shapes ({shown}) and no celestial WCS to "
            "reproject with; add CTYPE/CRVAL/CRPIX/CD keywords to the headers"
        )
        raise IngestError(msg)
    band, tile = missing[0]
    msg = (
        f"image {tile.label} (band {band.name}) has no celestial WCS "
        "(need RA---/DEC-- CTYPE1/2 with CRVAL, CRPIX, CD or CDELT) to place sky "
        "positions on it"
    )
    raise IngestError(msg)
