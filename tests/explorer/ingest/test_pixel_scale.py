"""The pixel scale of an input is recorded in the store's manifest."""

from __future__ import annotations

import numpy as np
from astropy.io import fits

from explorer.ingest.core import ingest
from explorer.ingest.fits_cube import positive_float_or_none
from explorer.ingest.synthetic import write_demo_survey
from explorer.store import Store


def test_fits_cube_pixscale_reaches_the_manifest(tmp_path):
    src = write_demo_survey(tmp_path / "demo.fits", 40, size=32)
    expected = float(fits.getheader(src)["PIXSCALE"])
    store = ingest(src, tmp_path / "store", progress=False)
    assert Store.open(store.root).manifest["pixel_scale_arcsec"] == expected
    assert expected == 16.0 / 32  # the demo field is 16 arcsec across


def test_header_values_that_are_not_a_scale_are_ignored():
    for value in (None, "abc", -1, 0, np.nan, np.inf):
        assert positive_float_or_none(value) is None
    assert positive_float_or_none("0.262") == 0.262
