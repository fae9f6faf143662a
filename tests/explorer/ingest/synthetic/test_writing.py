"""Writing the synthetic survey as a FITS cube plus catalogue."""

from __future__ import annotations

import numpy as np
from astropy.io import fits

from explorer.ingest.synthetic import (
    BANDS,
    make_cutouts,
    write_demo_survey,
)


def test_write_demo_survey_roundtrip(tmp_path):
    path = write_demo_survey(tmp_path / "demo.fits", 130, size=16, seed=2)
    cube, cat = make_cutouts(130, size=16, seed=2)
    with fits.open(path) as hdul:
        assert hdul[0].data.shape == (130, 3, 16, 16)
        assert hdul[0].header["BANDS"] == ",".join(BANDS)
        np.testing.assert_array_equal(hdul[0].data, cube)
        table = hdul["CATALOG"].data
        np.testing.assert_array_equal(table["id"], cat["id"])
        assert list(table["_truth_label"]) == list(cat["_truth_label"])
    assert not list(tmp_path.glob(".*"))  # no temporary left behind
