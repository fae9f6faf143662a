"""sep detection: known sources found at their positions with their fluxes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from explorer.ingest.images import CutoutSettings, DetectionSettings, ingest_images
from explorer.ingest.images.detect import aperture_fluxes

SHAPE = (256, 256)


@pytest.fixture
def field(tmp_path, sky):
    """Two bands (g, r = 2 g) with 16 Gaussian sources on a 4 x 4 grid, sky noise 1."""
    wcs = sky["tan_wcs"](SHAPE)
    gx, gy = np.meshgrid(np.linspace(30, 225, 4), np.linspace(30, 225, 4))
    x = gx.ravel() + np.linspace(0.1, 0.8, 16)
    y = gy.ravel() + np.linspace(0.7, 0.2, 16)
    ra, dec = wcs.pixel_to_world_values(x, y)
    flux = np.linspace(2000, 5000, 16)
    rng = np.random.default_rng(5)
    paths = {}
    for name, scale in (("g", 1.0), ("r", 2.0)):
        clean = sky["point_sources"](wcs, SHAPE, ra, dec, scale * flux, 0.3)
        image = clean + 10.0 + rng.normal(size=SHAPE)
        paths[name] = sky["write_image"](tmp_path / f"{name}.fits", image, wcs)
    return paths, x, y, np.asarray(ra), np.asarray(dec), flux


def test_detection_finds_every_source(tmp_path, field):
    paths, x, y, ra, dec, flux = field
    result = ingest_images(
        tmp_path / "store",
        [f"g={paths['g']}", f"r={paths['r']}"],
        cutouts=CutoutSettings(size=32, aperture=6.0),
        detection=DetectionSettings(sigma=5.0, min_area=5),
        progress=False,
    )
    assert result.detected
    catalog = pd.read_parquet(result.store.root / "catalog.parquet")
    assert len(catalog) == 16
    for col in (
        "id",
        "ra",
        "dec",
        "x",
        "y",
        "a",
        "b",
        "theta",
        "flux_radius",
        "sep_flag",
        "flux_g",
        "flux_r",
        "edge",
        "n_saturated",
        "n_masked",
    ):
        assert col in catalog.columns
    # match each true source to its nearest detection
    d2 = (catalog["x"].to_numpy()[:, None] - x) ** 2 + (
        catalog["y"].to_numpy()[:, None] - y
    ) ** 2
    match = d2.argmin(axis=0)
    assert len(set(match)) == 16
    found = catalog.iloc[match]
    np.testing.assert_allclose(found["x"], x, atol=0.1)
    np.testing.assert_allclose(found["y"], y, atol=0.1)
    np.testing.assert_allclose(found["ra"], ra, atol=0.1 * 0.2 / 3600)
    np.testing.assert_allclose(found["dec"], dec, atol=0.1 * 0.2 / 3600)
    # aperture of 6 px = 4 sigma holds 1 - exp(-8) of the flux; annulus takes the sky
    np.testing.assert_allclose(found["flux_g"], flux, rtol=0.03)
    np.testing.assert_allclose(found["flux_r"], 2 * flux, rtol=0.03)
    # sigma 1.5 px: the half-light radius is sqrt(2 ln 2) sigma
    np.testing.assert_allclose(found["flux_radius"], 1.1774 * 1.5, rtol=0.1)


def test_higher_threshold_finds_fewer(tmp_path, field):
    paths, *_ = field
    faint = ingest_images(
        tmp_path / "a",
        [f"g={paths['g']}"],
        cutouts=CutoutSettings(size=16),
        detection=DetectionSettings(sigma=3.0),
        progress=False,
    )
    strict = ingest_images(
        tmp_path / "b",
        [f"g={paths['g']}"],
        cutouts=CutoutSettings(size=16),
        detection=DetectionSettings(sigma=200.0),
        progress=False,
    )
    assert 0 < strict.store.n_sources < faint.store.n_sources


def test_aperture_flux_of_a_flat_cutout_is_area_times_level():
    # background-free: constant 2 inside; annulus (r+2, S/2-1) holds 2 as well
    pixels = np.full((1, 1, 32, 32), 2.0, dtype=np.float32)
    no_bkg = aperture_fluxes(pixels, np.array([[15.5, 15.5]]), radius=23.0)
    # radius 23 > 16 sqrt(2) covers the whole 32 x 32 cutout: the annulus is empty (no
    # background subtraction), the sum is every pixel
    assert no_bkg[0, 0] == pytest.approx(2.0 * 32 * 32, rel=1e-6)
    with_bkg = aperture_fluxes(pixels, np.array([[15.5, 15.5]]), radius=4.0)
    assert with_bkg[0, 0] == pytest.approx(0.0, abs=1e-3)


def test_overlapping_tiles_list_each_source_once(tmp_path, sky):
    """Two tiles overlapping by 40 px: sources in the overlap are detected on
    both but kept once, from the tile where they lie deeper inside."""
    big = sky["tan_wcs"]((80, 160))
    x = np.array([20.0, 70.5, 90.2, 140.0])  # 70.5 and 90.2 lie in the overlap
    y = np.array([40.0, 30.0, 50.0, 40.0])
    ra, dec = big.pixel_to_world_values(x, y)
    rng = np.random.default_rng(2)
    lines = []
    for name, shift in (("left", 0), ("right", 60)):
        wcs = big.deepcopy()
        wcs.wcs.crpix = wcs.wcs.crpix - [shift, 0]
        clean = sky["point_sources"](wcs, (80, 100), ra, dec, np.full(4, 3000.0), 0.3)
        image = clean + rng.normal(size=(80, 100))
        sky["write_image"](tmp_path / f"{name}.fits", image, wcs)
        lines.append(f"{name}.fits")
    (tmp_path / "tiles.txt").write_text("\n".join(lines))
    result = ingest_images(
        tmp_path / "s",
        [f"g=@{tmp_path / 'tiles.txt'}"],
        cutouts=CutoutSettings(size=16),
        detection=DetectionSettings(sigma=10.0),
        progress=False,
    )
    catalog = pd.read_parquet(result.store.root / "catalog.parquet")
    assert len(catalog) == 4
    order = np.argsort(catalog["ra"].to_numpy())[::-1]  # RA grows to the left
    found = catalog.iloc[order]
    # 70.5 is 29.5 px deep in left (< 99.5 - 70.5) and 10.5 px in right
    assert found["tile"].tolist() == [
        "left.fits",
        "left.fits",
        "right.fits",
        "right.fits",
    ]
    np.testing.assert_allclose(found["x"], [20.0, 70.5, 30.2, 80.0], atol=0.1)
