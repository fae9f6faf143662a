"""The Hubble Deep Field image of scikit-image as three FITS bands with a WCS.

``skimage.data.hubble_deep_field()`` is a real HST/WFPC2 image (872 x 1000
pixels, an 8-bit RGB composite, public domain, shipped with scikit-image).
Its three colour channels are written as bands ``red``, ``green`` and
``blue``. The file has no astrometry, so a **made-up** TAN WCS is attached:
centred on the HDF-North pointing (RA 189.2058, Dec 62.2161 degrees) with
0.04 arcsec pixels, north up and east left. Positions derived from it are
illustrative only and match no real catalogue. ``SATURATE = 255`` marks the
clipped pixels of the 8-bit composite.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from explorer.errors import IngestError

#: Made-up astrometry: the HDF-N centre and a WFPC2-like pixel scale.
HDF_CENTRE_DEG = (189.2058, 62.2161)
HDF_PIXEL_ARCSEC = 0.04
HDF_BANDS = ("red", "green", "blue")


def hdf_header(shape: tuple[int, int]) -> object:
    """A FITS header with the made-up TAN WCS for an image of ``shape`` (ny, nx)."""
    from astropy.io import fits

    ny, nx = shape
    scale = HDF_PIXEL_ARCSEC / 3600.0
    header = fits.Header()
    header["CTYPE1"], header["CTYPE2"] = "RA---TAN", "DEC--TAN"
    header["CRVAL1"], header["CRVAL2"] = HDF_CENTRE_DEG
    header["CRPIX1"], header["CRPIX2"] = (nx + 1) / 2.0, (ny + 1) / 2.0
    header["CD1_1"], header["CD1_2"] = -scale, 0.0
    header["CD2_1"], header["CD2_2"] = 0.0, scale
    header["CUNIT1"], header["CUNIT2"] = "deg", "deg"
    header["RADESYS"], header["EQUINOX"] = "ICRS", 2000.0
    header["SATURATE"] = (255, "8-bit composite: 255 is clipped")
    header["COMMENT"] = "Made-up WCS attached by latentsky (not real astrometry)."
    header["COMMENT"] = "Image: skimage.data.hubble_deep_field() (HST, public domain)."
    return header


def write_hdf_bands(
    out_dir: str | os.PathLike[str], *, overwrite: bool = False
) -> dict[str, Path]:
    """Write the Hubble Deep Field as ``hdf_<band>.fits``, one file per band.

    Parameters
    ----------
    out_dir : path-like
        Folder to create or fill.
    overwrite : bool
        Replace existing files.

    Returns
    -------
    dict
        Band name -> FITS file, in band order (``red``, ``green``, ``blue``).

    Raises
    ------
    IngestError
        If a file exists and ``overwrite`` is false, or ``out_dir`` is a file.
    """
    from astropy.io import fits
    from skimage import data

    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        msg = f"{out} is a file, expected a folder for the HDF band images"
        raise IngestError(msg)
    paths = {band: out / f"hdf_{band}.fits" for band in HDF_BANDS}
    taken = [p for p in paths.values() if p.exists()]
    if taken and not overwrite:
        msg = f"{taken[0]} already exists (pass --overwrite to replace it)"
        raise IngestError(msg)
    rgb = data.hubble_deep_field()
    # row 0 of the picture is its top; FITS row 0 is the bottom (north up)
    rgb = rgb[::-1]
    out.mkdir(parents=True, exist_ok=True)
    header = hdf_header(rgb.shape[:2])
    for index, (band, path) in enumerate(paths.items()):
        hdu = fits.PrimaryHDU(
            np.ascontiguousarray(rgb[:, :, index]), header=header.copy()
        )
        hdu.header["FILTER"] = band
        hdu.writeto(path, overwrite=overwrite)
    return paths
