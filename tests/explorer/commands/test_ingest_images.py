"""``latentsky ingest-images`` and ``latentsky demo-hdf`` on the command line."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from astropy.io import fits
from astropy.table import Table
from astropy.wcs import WCS

from explorer import cli


def _wcs(shape):
    ny, nx = shape
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    wcs.wcs.crval = [30.0, -10.0]
    wcs.wcs.crpix = [(nx + 1) / 2, (ny + 1) / 2]
    wcs.wcs.cd = np.diag([-0.25, 0.25]) / 3600
    return wcs


@pytest.fixture
def images(tmp_path):
    """g and r images (r = 3 g) of 80 x 80 px and a VOTable of 3 sources."""
    shape = (80, 80)
    wcs = _wcs(shape)
    yy, xx = np.mgrid[0:80, 0:80]
    x, y = np.array([20.0, 40.0, 60.0]), np.array([25.0, 40.0, 55.0])
    g = sum(
        np.exp(-((xx - a) ** 2 + (yy - b) ** 2) / 8.0)
        for a, b in zip(x, y, strict=True)
    )
    paths = []
    for name, scale in (("g", 1.0), ("r", 3.0)):
        path = tmp_path / f"{name}.fits"
        fits.PrimaryHDU((scale * g).astype(np.float32), header=wcs.to_header()).writeto(
            path
        )
        paths.append(f"{name}={path}")
    ra, dec = wcs.pixel_to_world_values(x, y)
    vot = tmp_path / "cat.vot"
    Table(
        {
            "source_id": [11, 12, 13],
            "RAJ2000": ra,
            "DEJ2000": dec,
            "mag": [20.0, 21.0, 22.0],
        }
    ).write(vot, format="votable")
    return paths, vot


def test_ingest_images_with_a_votable(images, tmp_path, capsys):
    bands, vot = images
    store = tmp_path / "store"
    argv = [
        "ingest-images",
        str(store),
        "--band",
        bands[0],
        "--band",
        bands[1],
        "--catalog",
        str(vot),
        "--size",
        "16",
        "--no-progress",
    ]
    assert cli.main(argv) == 0
    out = capsys.readouterr().out
    assert "ingested 3 catalogued sources into" in out
    catalog = pd.read_parquet(store / "catalog.parquet")
    assert catalog["id"].tolist() == [11, 12, 13]
    assert catalog["mag"].tolist() == [20.0, 21.0, 22.0]
    np.testing.assert_allclose(catalog["x"], [20.0, 40.0, 60.0], atol=1e-6)
    from explorer.store import Store

    cut = np.asarray(Store.open(store).cutouts[:])
    np.testing.assert_allclose(cut[:, 1], 3 * cut[:, 0], rtol=1e-5)
    # again without --overwrite: refused, with the hint
    assert cli.main(argv) == 2
    assert "--overwrite" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--size", "4"], "argument --size: must be >= 8, got '4'"),
        (["--detect-sigma", "0"], "argument --detect-sigma: must be a positive number"),
        (["--min-area", "0"], "argument --min-area: must be >= 1, got '0'"),
        (["--aperture", "nan"], "argument --aperture: must be a positive number"),
        (["--resample", "cubic"], "argument --resample: invalid choice: 'cubic'"),
        (["--chunk", "0"], "argument --chunk: must be >= 1, got '0'"),
        ([], "no images: give --band NAME=FILE"),
    ],
)
def test_bad_option_values(extra, message, tmp_path, capsys):
    rc = cli.main(["ingest-images", str(tmp_path / "s"), *extra])
    err = capsys.readouterr().err
    assert rc == 2
    assert message in err.strip().splitlines()[-1]


def test_demo_hdf_prints_the_next_command(tmp_path, capsys):
    assert cli.main(["demo-hdf", str(tmp_path / "hdf")]) == 0
    out = capsys.readouterr().out
    assert f"--band red={tmp_path / 'hdf' / 'hdf_red.fits'}" in out
    assert cli.main(["demo-hdf", str(tmp_path / "hdf")]) == 2
    assert "already exists" in capsys.readouterr().err
