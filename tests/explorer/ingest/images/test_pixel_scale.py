"""The cutout grid's pixel scale, from the reference band's WCS."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from astropy.wcs import WCS

from explorer.ingest.images.pipeline import reference_pixel_scale


def _wcs(scale_arcsec: float, rotation_deg: float) -> WCS:
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    wcs.wcs.crval = [150.0, 2.0]
    wcs.wcs.crpix = [50, 50]
    c, s = np.cos(np.radians(rotation_deg)), np.sin(np.radians(rotation_deg))
    d = scale_arcsec / 3600.0
    wcs.wcs.cd = [[-d * c, d * s], [d * s, d * c]]
    return wcs


@pytest.mark.parametrize("rotation", [0.0, 30.0])
def test_scale_of_a_rotated_tan_grid(rotation):
    band = SimpleNamespace(tiles=[SimpleNamespace(wcs=_wcs(0.262, rotation))])
    assert reference_pixel_scale(band) == pytest.approx(0.262, rel=1e-9)


def test_no_wcs_no_scale():
    assert (
        reference_pixel_scale(SimpleNamespace(tiles=[SimpleNamespace(wcs=None)]))
        is None
    )
