"""Uploaded FITS cutouts: shape checks against the store, clear errors."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from astropy.io import fits

from explorer.app.upload import checkpoint_of, parse_fits_cutout
from explorer.errors import DataError
from explorer.store import Store

BANDS = ["g", "r", "z"]


def fits_bytes(array) -> bytes:
    buffer = io.BytesIO()
    fits.PrimaryHDU(np.asarray(array, dtype=np.float32)).writeto(buffer)
    return buffer.getvalue()


def test_parse_accepts_matching_cube_and_fills_nan():
    cube = np.arange(3 * 8 * 8, dtype=np.float32).reshape(3, 8, 8)
    cube[1, 0, 0] = np.nan
    out = parse_fits_cutout(fits_bytes(cube), BANDS, 8)
    assert out.shape == (1, 3, 8, 8)
    assert out[0, 1, 0, 0] == np.median(cube[1][np.isfinite(cube[1])])
    assert parse_fits_cutout(fits_bytes(cube[None]), BANDS, 8).shape == (1, 3, 8, 8)


def test_parse_single_band_image():
    assert parse_fits_cutout(fits_bytes(np.ones((8, 8))), ["r"], 8).shape == (
        1,
        1,
        8,
        8,
    )


@pytest.mark.parametrize(
    ("shape", "bands"), [((3, 16, 16), BANDS), ((2, 8, 8), BANDS), ((8, 8), BANDS)]
)
def test_parse_rejects_shape_mismatch(shape, bands):
    with pytest.raises(DataError, match=r"needs \(3, 8, 8\).*g, r, z"):
        parse_fits_cutout(fits_bytes(np.ones(shape)), bands, 8, "x.fits")


def test_parse_rejects_non_fits_and_empty_bands():
    with pytest.raises(DataError, match="x.fits is not a readable FITS"):
        parse_fits_cutout(b"hello", BANDS, 8, "x.fits")
    cube = np.full((3, 8, 8), np.nan)
    with pytest.raises(DataError, match="no finite pixels"):
        parse_fits_cutout(fits_bytes(cube), BANDS, 8)
    with pytest.raises(DataError, match="no image"):
        buffer = io.BytesIO()
        fits.PrimaryHDU().writeto(buffer)
        parse_fits_cutout(buffer.getvalue(), BANDS, 8)


def test_checkpoint_of_explains_what_is_missing(analysed_store_copy, tmp_path):
    store = Store.open(analysed_store_copy)
    with pytest.raises(DataError, match="has no checkpoint"):
        checkpoint_of(store, "v1")
    config = store.version_file("v1", "config.json")
    config.write_text(json.dumps({"checkpoint": str(tmp_path / "gone.pt")}))
    with pytest.raises(DataError, match="gone.pt of version 'v1' is not available"):
        checkpoint_of(store, "v1")
    (tmp_path / "gone.pt").write_bytes(b"x")
    assert checkpoint_of(store, "v1") == tmp_path / "gone.pt"


@pytest.mark.slow
def test_uploaded_cutout_finds_itself(analysed_store_copy, tmp_path, tiny_config):
    """End to end: train a tiny encoder, embed the store, upload one cutout."""
    from explorer.app.upload import embed_upload
    from explorer.app.views.similar import similarity_index
    from explorer.jobs.runner import embed_version
    from models.train import train

    config = tiny_config()
    checkpoint = tmp_path / "tiny.pt"
    train(analysed_store_copy, checkpoint, config, device="cpu")
    store = Store.open(analysed_store_copy)
    embed_version(store.root, checkpoint, "ssl", device="cpu")
    store.reload()
    source_id = int(store.ids[42])
    upload = parse_fits_cutout(
        fits_bytes(store.cutout(source_id)), store.bands, store.cutout_size
    )
    vector = embed_upload(store, "ssl", upload)
    found = similarity_index(store, "ssl").search_vectors(vector, 3)
    assert int(found["id"].iat[0]) == source_id
    assert found["similarity"].iat[0] == pytest.approx(1.0, abs=1e-4)
