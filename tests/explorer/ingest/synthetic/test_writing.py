"""Writing the synthetic survey as a FITS cube plus catalogue."""

from __future__ import annotations

import json

import numpy as np
from astropy.io import fits

from explorer.ingest.synthetic import (
    BANDS,
    PRESETS,
    make_cutouts,
    write_demo_survey,
)


def test_write_demo_survey_roundtrip(tmp_path):
    path = write_demo_survey(tmp_path / "demo.fits", 130, size=16, seed=2)
    cube, cat = make_cutouts(130, size=16, seed=2)
    with fits.open(path) as hdul:
        assert hdul[0].data.shape == (130, 3, 16, 16)
        assert hdul[0].header["BANDS"] == ",".join(BANDS)
        assert hdul[0].header["PRESET"] == "demo"
        np.testing.assert_array_equal(hdul[0].data, cube)
        table = hdul["CATALOG"].data
        np.testing.assert_array_equal(table["id"], cat["id"])
        np.testing.assert_array_equal(table["flags"], cat["flags"])
        np.testing.assert_array_equal(table["flux_r"], cat["flux_r"])
        assert list(table["_truth_label"]) == list(cat["_truth_label"])
    assert not list(tmp_path.glob(".*"))  # no temporary left behind


def test_preset_and_settings_are_in_the_header(tmp_path):
    second = PRESETS["second"]
    path = write_demo_survey(tmp_path / "s.fits", 40, size=24, seed=9, settings=second)
    cube, _ = make_cutouts(40, size=24, seed=9, settings=second)
    with fits.open(path) as hdul:
        header = hdul[0].header
        np.testing.assert_array_equal(hdul[0].data, cube)
    assert header["PRESET"] == "second"
    assert header["SEED"] == 9
    assert (header["SEEINGLO"], header["SEEINGHI"]) == second.seeing_r
    assert header["MAGLIM"] == second.mag_limit
    assert header["PIXSCALE"] == 16.0 / 24
    assert json.loads(header["SETTINGS"]) == second.to_dict() | {
        "seeing_r": list(second.seeing_r),
        "seeing_ratio": list(second.seeing_ratio),
        "sky_sigma": list(second.sky_sigma),
    }
