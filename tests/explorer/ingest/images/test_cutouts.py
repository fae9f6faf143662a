"""Cutouts centred on sources at known RA/Dec, in every band, after reprojection.

Hand-computed references: sources are drawn at exact sky positions through a
known TAN WCS; the expected position inside each cutout is the source's pixel
position in the first band minus the cutout's origin, and the expected total
of each cutout is the source's flux (noise-free images, flux per pixel, so a
band on a finer grid carries the same total over more, fainter pixels).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from astropy.nddata import Cutout2D

from explorer.ingest.images import CutoutSettings, ingest_images
from explorer.ingest.images.bands import ImageFiles, open_tile
from explorer.ingest.images.cutouts import cut_same_grid
from explorer.store import Store

SHAPE = (200, 220)
SIZE = 32
FLUX = 1000.0
SIGMA_ARCSEC = 0.6  # 3 reference pixels of 0.2"


def _centroid(image: np.ndarray) -> tuple[float, float]:
    """Flux-weighted ``(x, y)`` of a noise-free cutout holding one source."""
    yy, xx = np.mgrid[0 : image.shape[0], 0 : image.shape[1]]
    return (
        float((image * xx).sum() / image.sum()),
        float((image * yy).sum() / image.sum()),
    )


@pytest.fixture
def three_grids(tmp_path, sky):
    """Bands g (reference 0.2"), r (same grid), z (rotated 30 deg, 0.13"/px, offset).

    Returns ``(band specs, catalogue path, reference WCS, table)``.
    """
    ref = sky["tan_wcs"](SHAPE)
    z_shape = (440, 420)  # covers the rotated reference footprint
    z_wcs = sky["tan_wcs"](
        z_shape, scale_arcsec=0.13, rotation_deg=30.0, centre=(150.0 + 2e-4, 2.0 - 1e-4)
    )
    # 70 px apart: no cutout holds a second source
    px = np.array([40.3, 110.7, 180.2, 40.9, 110.1, 180.6])
    py = np.array([50.6, 50.2, 50.9, 140.1, 140.5, 139.8])
    ra, dec = ref.pixel_to_world_values(px, py)
    flux = np.full(6, FLUX)
    specs = []
    for name, wcs, shape in (
        ("g", ref, SHAPE),
        ("r", ref, SHAPE),
        ("z", z_wcs, z_shape),
    ):
        image = sky["point_sources"](wcs, shape, ra, dec, flux, SIGMA_ARCSEC)
        path = sky["write_image"](tmp_path / f"{name}.fits", image, wcs)
        specs.append(f"{name}={path}")
    table = pd.DataFrame({"id": np.arange(6) + 100, "ra": ra, "dec": dec})
    cat = tmp_path / "cat.csv"
    table.to_csv(cat, index=False)
    return specs, cat, ref, table


def test_peak_centred_and_flux_conserved_in_every_band(tmp_path, three_grids):
    specs, cat, ref, table = three_grids
    result = ingest_images(
        tmp_path / "store",
        specs,
        catalog=cat,
        cutouts=CutoutSettings(size=SIZE),
        progress=False,
    )
    store = Store.open(result.store.root)
    assert store.bands == ["g", "r", "z"]
    cutouts = np.asarray(store.cutouts[:])
    catalog = pd.read_parquet(store.root / "catalog.parquet")
    assert catalog["id"].tolist() == table["id"].tolist()
    x, y = ref.world_to_pixel_values(table["ra"].to_numpy(), table["dec"].to_numpy())
    centre = (SIZE - 1) / 2
    for i in range(len(table)):
        # the cutout's pixel [0, 0] is the image pixel nearest x - centre
        expected = (x[i] - np.round(x[i] - centre), y[i] - np.round(y[i] - centre))
        assert abs(expected[0] - centre) <= 0.5 and abs(expected[1] - centre) <= 0.5
        for b, tolerance in ((0, 0.05), (1, 0.05), (2, 0.15)):
            cx, cy = _centroid(cutouts[i, b])
            assert abs(cx - expected[0]) < tolerance, (i, b, cx, expected)
            assert abs(cy - expected[1]) < tolerance, (i, b, cy, expected)
            assert abs(cx - centre) <= 0.5 + tolerance
            # 32 px = 10 sigma: the Gaussian's tails outside hold < 1e-5
            assert cutouts[i, b].sum() == pytest.approx(FLUX, rel=0.02), (i, b)
    assert (catalog["edge"] == 0).all()
    assert (catalog["n_masked"] == 0).all()


def test_adaptive_resampling_also_conserves_flux(tmp_path, three_grids):
    specs, cat, _, _ = three_grids
    result = ingest_images(
        tmp_path / "store",
        specs,
        catalog=cat,
        cutouts=CutoutSettings(size=SIZE, resample="adaptive"),
        progress=False,
    )
    cutouts = np.asarray(result.store.cutouts[:])
    np.testing.assert_allclose(cutouts[:, 2].sum(axis=(1, 2)), FLUX, rtol=0.02)


def test_placement_equals_cutout2d_partial(tmp_path, sky):
    rng = np.random.default_rng(0)
    image = rng.normal(size=(50, 60)).astype(np.float32)
    path = sky["write_image"](tmp_path / "a.fits", image, sky["tan_wcs"]((50, 60)))
    files = ImageFiles()
    try:
        tile = open_tile(files, path, None)
        for x, y in ((30.2, 20.7), (2.3, 3.9), (58.6, 48.1), (0.0, 49.4)):
            ours, origin = cut_same_grid(tile, x, y, 16)
            theirs = Cutout2D(image, (x, y), 16, mode="partial", fill_value=np.nan)
            np.testing.assert_array_equal(ours, theirs.data)
            assert origin == tuple(
                np.round(
                    np.subtract(theirs.position_original, theirs.position_cutout)
                ).astype(int)
            )
    finally:
        files.close()


def test_edge_source_padded_and_flagged(tmp_path, sky):
    wcs = sky["tan_wcs"]((100, 100))
    # x = 2.3: the 16-px cutout's pixel 0 is image pixel -5 (2.3 - 7.5 rounded),
    # so image columns -5..-1 are outside: 5 of 16 columns
    ra, dec = wcs.pixel_to_world_values(np.array([2.3, 50.0]), np.array([50.0, 50.0]))
    image = sky["point_sources"](wcs, (100, 100), ra, dec, np.array([50.0, 50.0]), 0.4)
    path = sky["write_image"](tmp_path / "g.fits", image, wcs)
    cat = tmp_path / "cat.csv"
    pd.DataFrame({"ra": ra, "dec": dec}).to_csv(cat, index=False)
    store = ingest_images(
        tmp_path / "s",
        [f"g={path}"],
        catalog=cat,
        cutouts=CutoutSettings(size=16),
        progress=False,
    ).store
    catalog = pd.read_parquet(store.root / "catalog.parquet")
    assert catalog["edge"].tolist() == pytest.approx([5 / 16, 0.0])
    assert catalog["n_masked"].tolist() == [5 * 16, 0]
    assert np.isfinite(np.asarray(store.cutouts[:])).all()


def test_nan_block_and_saturation_flag_rows(tmp_path, sky):
    wcs = sky["tan_wcs"]((120, 120))
    x = np.array([30.0, 90.0, 30.0])
    y = np.array([30.0, 30.0, 90.0])
    ra, dec = wcs.pixel_to_world_values(x, y)
    image = sky["point_sources"](
        wcs, (120, 120), ra, dec, np.array([100.0, 100, 9000]), 0.4
    )
    image[20:40, 20:40] = (
        np.nan
    )  # a NaN block over source 0 (20 x 20 inside its cutout)
    image = np.minimum(image, 50.0)  # source 2 clipped at the saturation level
    path = sky["write_image"](tmp_path / "g.fits", image, wcs, SATURATE=50.0)
    cat = tmp_path / "cat.parquet"
    pd.DataFrame({"id": [7, 8, 9], "ra": ra, "dec": dec}).to_parquet(cat)
    store = ingest_images(
        tmp_path / "s",
        [f"g={path}"],
        catalog=cat,
        cutouts=CutoutSettings(size=32),
        progress=False,
    ).store
    catalog = pd.read_parquet(store.root / "catalog.parquet")
    assert catalog["n_masked"].tolist() == [400, 0, 0]
    assert catalog["n_saturated"].iloc[:2].tolist() == [0, 0]
    # all of source 2 (sigma 2 px) lies inside its 32-px cutout
    expected_saturated = int((image[60:120, 0:60] >= 50).sum())
    assert expected_saturated > 0
    assert catalog["n_saturated"].iloc[2] == expected_saturated
