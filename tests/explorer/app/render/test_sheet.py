"""The PNG contact sheet: size, tile placement, captions, limits."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from explorer.app.render import sheet
from explorer.app.render.images import DisplaySettings, render


def test_sheet_shape_and_size_by_hand():
    assert sheet.sheet_shape(5) == (2, 3)  # ceil(sqrt(5)) = 3 columns
    assert sheet.sheet_shape(5, columns=5) == (1, 5)
    assert sheet.sheet_shape(2, columns=9) == (1, 2)
    # 3 columns x 2 rows of 32 px: 4 + 3 * 36 wide, 4 + 2 * (32 + 14 + 4) high
    assert sheet.sheet_size(5, 32) == (112, 104)
    with pytest.raises(ValueError, match="at least one source"):
        sheet.sheet_shape(0)


def test_tiles_are_the_rendered_cutouts_in_order():
    rng = np.random.default_rng(0)
    cutouts = rng.normal(size=(5, 3, 8, 8)).astype(np.float32)
    settings = DisplaySettings("asinh", "zscale")
    png = sheet.contact_sheet(
        cutouts, ["g", "r", "z"], [f"id {i}" for i in range(5)], settings, tile=32
    )
    image = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
    assert image.shape == (104, 112, 3)
    for k in (0, 4):
        r, c = divmod(k, 3)
        x, y = 4 + c * 36, 4 + r * 50
        tile = image[y : y + 32 : 4, x : x + 32 : 4]  # nearest upscale x4
        np.testing.assert_array_equal(
            tile, render(cutouts[k], ["g", "r", "z"], settings)
        )
    # caption strip of tile 0 holds light text on the dark background
    assert image[4 + 32 : 4 + 46, 4:36].max() > 150
    # the empty 6th slot is background
    assert (image[54:86, 4 + 2 * 36 : 4 + 2 * 36 + 32] == sheet.BACKGROUND).all()


def test_bad_sheets_are_refused():
    cutouts = np.zeros((2, 1, 8, 8))
    with pytest.raises(ValueError, match="1 captions for 2 cutouts"):
        sheet.contact_sheet(cutouts, ["r"], ["a"])
    with pytest.raises(ValueError, match="too small"):
        sheet.contact_sheet(cutouts, ["r"], ["a", "b"], tile=4)
    big = np.zeros((sheet.MAX_TILES + 1, 1, 2, 2))
    with pytest.raises(ValueError, match="too many"):
        sheet.contact_sheet(big, ["r"], [""] * len(big))
