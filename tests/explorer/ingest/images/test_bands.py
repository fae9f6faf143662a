"""Band specs, HDU suffixes, multi-extension files, tile lists and scaled integers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from astropy.io import fits

from explorer.errors import IngestError
from explorer.ingest.images import CutoutSettings, ingest_images
from explorer.ingest.images.bands import (
    ImageFiles,
    open_band,
    open_mef,
    parse_band_spec,
    split_hdu,
)


def test_spec_parsing():
    assert parse_band_spec("g=a.fits") == ("g", "a.fits")
    assert parse_band_spec(" r = b.fits[SCI] ") == ("r", "b.fits[SCI]")
    assert split_hdu("b.fits[SCI]") == ("b.fits", "SCI")
    assert split_hdu("b.fits[2]") == ("b.fits", "2")
    assert split_hdu("b.fits") == ("b.fits", None)
    for bad in ("g", "=a.fits", "g="):
        with pytest.raises(IngestError, match="expected NAME=FILE"):
            parse_band_spec(bad)


def _mef(path, sky, values, names, key="FILTER"):
    wcs = sky["tan_wcs"]((40, 40))
    hdus = [fits.PrimaryHDU()]
    for value, name in zip(values, names, strict=True):
        header = wcs.to_header()
        if name is not None:
            header[key] = name
        hdus.append(
            fits.ImageHDU(
                np.full((40, 40), value, dtype=np.float32),
                header=header,
                name=f"SCI{value}",
            )
        )
    fits.HDUList(hdus).writeto(path)
    return path


def test_mef_bands_named_by_filter_or_extname(tmp_path, sky):
    files = ImageFiles()
    try:
        bands = open_mef(
            files, _mef(tmp_path / "m.fits", sky, [1, 2, 3], ["u", "g", None])
        )
        assert [b.name for b in bands] == ["u", "g", "SCI3"]
        assert [b.tiles[0].hdu for b in bands] == [1, 2, 3]
        band = open_band(files, f"x={tmp_path / 'm.fits'}[SCI2]")
        assert band.tiles[0].read(slice(0, 2), slice(0, 2)).tolist() == [[2, 2], [2, 2]]
        with pytest.raises(IngestError, match=r"no HDU named 'NOPE' \(HDUs: PRIMARY"):
            open_band(files, f"x={tmp_path / 'm.fits'}[NOPE]")
        with pytest.raises(IngestError, match="no HDU 9"):
            open_band(files, f"x={tmp_path / 'm.fits'}[9]")
    finally:
        files.close()


def test_mef_ingest_keeps_hdu_order(tmp_path, sky):
    path = _mef(tmp_path / "m.fits", sky, [1, 2], ["g", "r"])
    wcs = sky["tan_wcs"]((40, 40))
    ra, dec = wcs.pixel_to_world_values([20.0], [20.0])
    pd.DataFrame({"ra": ra, "dec": dec}).to_csv(tmp_path / "c.csv", index=False)
    store = ingest_images(
        tmp_path / "s",
        mef=path,
        catalog=tmp_path / "c.csv",
        cutouts=CutoutSettings(size=8),
        progress=False,
    ).store
    assert store.bands == ["g", "r"]
    cut = np.asarray(store.cutouts[:])
    assert cut[0, 0].tolist() == np.ones((8, 8)).tolist()
    assert cut[0, 1].tolist() == np.full((8, 8), 2.0).tolist()


def test_tile_list_assigns_each_source_to_its_tile(tmp_path, sky):
    """Two 60 x 60 tiles side by side overlapping by 20 px: each source is cut
    from the tile where it lies farthest from an edge."""
    big = sky["tan_wcs"]((60, 100))
    left_wcs, right_wcs = big.deepcopy(), big.deepcopy()
    right_wcs.wcs.crpix = right_wcs.wcs.crpix - [40, 0]
    sky["write_image"](tmp_path / "left.fits", np.full((60, 60), 1.0), left_wcs)
    sky["write_image"](tmp_path / "right.fits", np.full((60, 60), 2.0), right_wcs)
    (tmp_path / "tiles.txt").write_text("# g tiles\nleft.fits\n\nright.fits[0]\n")
    # x in the 100-px frame: 10, 45 -> left (45 is 5 px deeper); 55, 90 -> right
    x = np.array([10.0, 45.0, 55.0, 90.0])
    ra, dec = big.pixel_to_world_values(x, np.full(4, 30.0))
    pd.DataFrame({"ra": ra, "dec": dec}).to_csv(tmp_path / "c.csv", index=False)
    store = ingest_images(
        tmp_path / "s",
        [f"g=@{tmp_path / 'tiles.txt'}"],
        catalog=tmp_path / "c.csv",
        cutouts=CutoutSettings(size=8),
        progress=False,
    ).store
    catalog = pd.read_parquet(store.root / "catalog.parquet")
    assert catalog["tile"].tolist() == [
        "left.fits",
        "left.fits",
        "right.fits",
        "right.fits",
    ]
    np.testing.assert_allclose(catalog["x"], [10.0, 45.0, 15.0, 50.0], atol=1e-6)
    cut = np.asarray(store.cutouts[:])
    assert cut[:, 0, 0, 0].tolist() == [1.0, 1.0, 2.0, 2.0]


def test_scaled_integers_and_blank_read_by_section(tmp_path, sky):
    raw = np.arange(400, dtype=np.int16).reshape(20, 20)
    raw[5, 5] = -999
    header = sky["tan_wcs"]((20, 20)).to_header()
    header["BSCALE"], header["BZERO"], header["BLANK"] = 0.5, 100.0, -999
    hdu = fits.PrimaryHDU(raw, header=header)
    hdu.header["BSCALE"], hdu.header["BZERO"], hdu.header["BLANK"] = 0.5, 100.0, -999
    fits.HDUList([hdu]).writeto(tmp_path / "i.fits")
    files = ImageFiles()
    try:
        tile = open_band(files, f"g={tmp_path / 'i.fits'}").tiles[0]
        section = tile.read(slice(4, 6), slice(4, 7))
    finally:
        files.close()
    expected = raw[4:6, 4:7] * 0.5 + 100.0
    expected[1, 1] = np.nan
    np.testing.assert_array_equal(section, expected.astype(np.float32))
