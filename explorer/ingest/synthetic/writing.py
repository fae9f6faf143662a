"""Writing the synthetic survey as a FITS cube plus catalogue table."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from explorer.ingest.synthetic.photometry import BANDS
from explorer.ingest.synthetic.settings import DEMO, SurveySettings
from explorer.ingest.synthetic.survey import iter_survey

log = logging.getLogger(__name__)


def _fits_header(n: int, size: int, seed: int, settings: SurveySettings) -> Any:
    """The primary header of an ``(n, 3, size, size)`` float32 cube."""
    from astropy.io import fits

    header = fits.Header()
    header["SIMPLE"] = True
    header["BITPIX"] = -32
    header["NAXIS"] = 4
    header["NAXIS1"] = size
    header["NAXIS2"] = size
    header["NAXIS3"] = len(BANDS)
    header["NAXIS4"] = n
    header["EXTEND"] = True
    header["BANDS"] = (",".join(BANDS), "band of each plane along axis 3")
    for i, band in enumerate(BANDS, start=1):
        header[f"BAND{i}"] = band
    header["BUNIT"] = ("nanomaggy", "22.5 - 2.5 log10(flux) = AB mag")
    header["PIXSCALE"] = (settings.pixel_scale(size), "arcsec per pixel")
    header["ORIGIN"] = "latentsky synthetic survey"
    header["SEED"] = seed
    header["PRESET"] = (settings.name, "survey settings preset")
    header["SEEINGLO"] = (settings.seeing_r[0], "min r-band seeing FWHM, arcsec")
    header["SEEINGHI"] = (settings.seeing_r[1], "max r-band seeing FWHM, arcsec")
    header["PSFBETA"] = (settings.moffat_beta, "Moffat PSF beta")
    for band, sigma in zip(BANDS, settings.sky_sigma, strict=True):
        header[f"SKYSIG_{band.upper()}"] = (sigma, "sky sigma, nmgy/(0.25as px)")
    header["MAGLIM"] = (settings.mag_limit, "faintest central r magnitude")
    header["COMPRATE"] = (settings.companion_rate, "share of cutouts w/ neighbours")
    header["SETTINGS"] = settings.to_json()
    return header


def write_demo_survey(
    path: str | os.PathLike[str],
    n: int,
    *,
    size: int = 64,
    seed: int = 0,
    settings: SurveySettings = DEMO,
    progress: bool = False,
) -> Path:
    """Write the synthetic survey as a FITS cube plus catalogue.

    The primary HDU is an ``(N, 3, S, S)`` float32 cube (FITS axes
    ``NAXIS1 = NAXIS2 = S``, ``NAXIS3 = 3``, ``NAXIS4 = N``) with band names in
    the ``BANDS`` / ``BAND1..3`` keywords; it is streamed batch by batch, so
    memory does not grow with ``n``. HDU 1 (``CATALOG``) is a binary table
    with the columns of :func:`iter_survey`. The preset name and every
    setting are in the primary header (``PRESET``, ``SEEINGLO``..., and all
    of them as JSON in ``SETTINGS``). The file is written to a temporary
    sibling and renamed into place.

    Parameters
    ----------
    path : path-like
        Output ``.fits`` file (replaced if it exists).
    n, size, seed, settings
        See :func:`iter_survey`.
    progress : bool
        Show a tqdm progress bar.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    from astropy.io import fits
    from astropy.table import Table
    from tqdm.auto import tqdm

    from explorer.store import atomic

    path = Path(path)
    catalogs = []
    with atomic.atomic_path(path) as tmp:
        stream = fits.StreamingHDU(tmp, _fits_header(n, size, seed, settings))
        try:
            with tqdm(
                total=n, unit="src", desc="demo survey", disable=not progress
            ) as bar:
                for cube, catalog in iter_survey(
                    n, size=size, seed=seed, settings=settings
                ):
                    stream.write(np.ascontiguousarray(cube, dtype=">f4"))
                    catalogs.append(catalog)
                    bar.update(len(cube))
        finally:
            stream.close()
        table = Table.from_pandas(pd.concat(catalogs, ignore_index=True))
        hdu = fits.BinTableHDU(table, name="CATALOG")
        fits.append(tmp, hdu.data, hdu.header)
    log.info(
        "wrote synthetic survey %r of %d sources (%d px) to %s",
        settings.name,
        n,
        size,
        path,
    )
    return path
