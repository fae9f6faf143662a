"""The real Hubble Deep Field: FITS bands with the made-up WCS, then
detection -> cutouts -> store -> embed (pixel PCA) -> analyse -> map."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from astropy.io import fits
from astropy.wcs import WCS

from explorer import cli
from explorer.errors import IngestError
from explorer.ingest.images.hdf import HDF_CENTRE_DEG, HDF_PIXEL_ARCSEC, write_hdf_bands


def test_bands_carry_the_image_and_the_documented_wcs(tmp_path):
    from skimage import data

    paths = write_hdf_bands(tmp_path)
    assert list(paths) == ["red", "green", "blue"]
    rgb = data.hubble_deep_field()
    with fits.open(paths["green"]) as hdul:
        image, header = hdul[0].data, hdul[0].header
        wcs = WCS(header)
    assert image.shape == (872, 1000)
    # FITS row 0 is the picture's bottom row
    np.testing.assert_array_equal(image[::-1], rgb[:, :, 1])
    assert header["FILTER"] == "green" and header["SATURATE"] == 255
    # pixel centre of the image (FITS 1-based 500.5, 436.5) is the HDF-N pointing
    ra, dec = wcs.pixel_to_world_values(499.5, 435.5)
    assert (float(ra), float(dec)) == pytest.approx(HDF_CENTRE_DEG, abs=1e-9)
    # one pixel east (x - 1) is 0.04" on the sky
    ra1, _ = wcs.pixel_to_world_values(498.5, 435.5)
    step = (ra1 - ra) * np.cos(np.deg2rad(dec)) * 3600
    assert step == pytest.approx(HDF_PIXEL_ARCSEC, rel=1e-6)
    with pytest.raises(IngestError, match="already exists"):
        write_hdf_bands(tmp_path)


@pytest.mark.slow
def test_detection_to_map(tmp_path, capsys, add_version):
    out = tmp_path / "hdf"
    assert cli.main(["demo-hdf", str(out)]) == 0
    store = tmp_path / "store"
    bands = [f"--band={b}={out / f'hdf_{b}.fits'}" for b in ("red", "green", "blue")]
    rc = cli.main(
        [
            "ingest-images",
            str(store),
            *bands,
            "--size",
            "32",
            "--detect-sigma",
            "5",
            "--no-progress",
        ]
    )
    assert rc == 0, capsys.readouterr().err
    catalog = pd.read_parquet(store / "catalog.parquet")
    # hundreds of galaxies; every one inside the made-up 40" x 35" field
    assert 200 < len(catalog) < 3000
    half_ra = 500 * HDF_PIXEL_ARCSEC / 3600 / np.cos(np.deg2rad(HDF_CENTRE_DEG[1]))
    assert (abs(catalog["ra"] - HDF_CENTRE_DEG[0]) <= half_ra * 1.01).all()
    assert (abs(catalog["dec"] - HDF_CENTRE_DEG[1]) <= 436 * 0.04 / 3600 * 1.01).all()
    assert (catalog["n_saturated"] > 0).any()  # the 8-bit composite clips cores
    # the brightest detections are the brightest in the aperture fluxes too
    top = catalog.nlargest(20, "flux_iso")
    assert top["flux_green"].median() > catalog["flux_green"].quantile(0.9)
    add_version(store, "v1", n_components=8)
    map_table = pd.read_parquet(store / "versions" / "v1" / "map.parquet")
    assert len(map_table) == len(catalog)
    assert map_table["id"].tolist() == catalog["id"].tolist()
    assert np.isfinite(map_table[["x", "y"]].to_numpy()).all()
    capsys.readouterr()
