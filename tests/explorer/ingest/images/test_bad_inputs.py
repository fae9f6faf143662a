"""Bad images and catalogues through ``latentsky ingest-images``, table-driven.

A refused case exits 2 with one ``latentsky ingest-images: error: ...`` line
naming the file and the row or value, and leaves no store and no build
folder. A usable-but-damaged case (NaN blocks, saturated pixels, a few
sources off the image) ingests, with the rows flagged.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from explorer import cli

SHAPE = (64, 64)


@pytest.fixture
def field(tmp_path, sky):
    """Writers in ``tmp_path``: ``image(name, data=None, with_wcs=True,
    shape=SHAPE, **header)``, ``catalog(name, **columns)`` (CSV or Parquet)
    and ``sky_of(x, y) -> (ra, dec)`` through the images' WCS."""
    wcs = sky["tan_wcs"](SHAPE)

    def image(name, data=None, with_wcs=True, shape=SHAPE, **header):
        if (tmp_path / name).exists():  # a case may reuse a file already written
            return tmp_path / name
        data = np.full(shape, 5.0) if data is None else data
        the_wcs = sky["tan_wcs"](shape) if with_wcs else None
        return sky["write_image"](tmp_path / name, data, the_wcs, **header)

    def catalog(name, **columns):
        path = tmp_path / name
        frame = pd.DataFrame(columns)
        if name.endswith(".parquet"):
            frame.to_parquet(path)
        else:
            frame.to_csv(path, index=False)
        return path

    def sky_of(x, y):
        ra, dec = wcs.pixel_to_world_values(np.asarray(x, float), np.asarray(y, float))
        return np.asarray(ra), np.asarray(dec)

    return image, catalog, sky_of


@dataclass(frozen=True)
class Case:
    """``make(image, catalog, sky_of) -> argv after STORE`` and the expected text."""

    name: str
    make: Callable[..., list[str]]
    message: tuple[str, ...]


def _off_every_image(image, catalog, sky_of):
    ra, dec = sky_of([500, 600], [500, 600])
    return [
        "--band",
        f"g={image('g.fits')}",
        "--catalog",
        str(catalog("far.csv", id=[5, 6], ra=ra, dec=dec)),
    ]


def _strict_one_off(image, catalog, sky_of):
    ra, dec = sky_of([20, 30, 900], [20, 30, 900])
    return [
        "--band",
        f"g={image('g.fits')}",
        "--strict",
        "--catalog",
        str(catalog("cat.csv", id=[1, 2, 3], ra=ra, dec=dec)),
    ]


def _no_wcs(image, catalog, sky_of):
    ra, dec = sky_of([20], [20])
    return [
        "--band",
        f"g={image('g.fits')}",
        "--band",
        f"r={image('nowcs.fits', with_wcs=False)}",
        "--catalog",
        str(catalog("cat.csv", ra=ra, dec=dec)),
    ]


def _shapes_no_wcs(image, catalog, sky_of):
    return [
        "--band",
        f"g={image('a.fits', with_wcs=False)}",
        "--band",
        f"r={image('b.fits', with_wcs=False, shape=(50, 70))}",
    ]


def _pixel_columns(image, catalog, sky_of):
    return [
        "--band",
        f"g={image('g.fits')}",
        "--catalog",
        str(catalog("pix.csv", id=[1, 2], x=[10.0, 20.0], y=[12.0, 30.0])),
    ]


def _pixels_in_radec(image, catalog, sky_of):
    # dec = 95 is no declination but a row of this 128-px image
    return [
        "--band",
        f"g={image('big.fits', shape=(128, 128))}",
        "--catalog",
        str(catalog("pixradec.parquet", ra=[10.5, 40.2, 33.0], dec=[12.0, 95.0, 60.0])),
    ]


def _no_radec(image, catalog, sky_of):
    return [
        "--band",
        f"g={image('g.fits')}",
        "--catalog",
        str(catalog("nosky.csv", alpha=[150.0], delta=[2.0])),
    ]


def _missing_image(image, catalog, sky_of):
    return ["--band", f"g={image('g.fits')}", "--band", "r=missing.fits"]


def _bad_spec(image, catalog, sky_of):
    return ["--band", "g"]


def _not_fits(image, catalog, sky_of):
    path = image("g.fits").with_name("junk.fits")
    path.write_bytes(b"not a fits file at all" * 200)
    return ["--band", f"g={path}"]


def _unknown_detect_band(image, catalog, sky_of):
    return ["--band", f"g={image('g.fits')}", "--detect-band", "y"]


def _nothing_detected(image, catalog, sky_of):
    return ["--band", f"g={image('flat.fits')}"]


REFUSED = [
    Case(
        "off every image",
        _off_every_image,
        ("far.csv", "2 of 2 sources lie off the images", "row 0 (id 5", "g.fits"),
    ),
    Case(
        "--strict with one off",
        _strict_one_off,
        ("cat.csv", "1 of 3", "row 2 (id 3", "(--strict)"),
    ),
    Case(
        "image without celestial WCS",
        _no_wcs,
        ("nowcs.fits[0] (band r) has no celestial WCS",),
    ),
    Case(
        "shapes differ and no WCS",
        _shapes_no_wcs,
        (
            "incompatible shapes",
            "a.fits[0] 64x64",
            "b.fits[0] 70x50",
            "no celestial WCS to reproject with",
        ),
    ),
    Case(
        "catalogue in pixel columns",
        _pixel_columns,
        ("pix.csv", "pixel coordinates (columns x, y)", "accepted names are ra"),
    ),
    Case(
        "RA/Dec holding pixels",
        _pixels_in_radec,
        (
            "pixradec.parquet",
            "look like pixel coordinates",
            "row 1 has ra=40.2, dec=95",
        ),
    ),
    Case(
        "no RA/Dec columns",
        _no_radec,
        (
            "nosky.csv",
            "no RA/Dec columns (columns: alpha, delta)",
            "ra (or ra_deg, raj2000) and dec (or dec_deg, dej2000, decj2000)",
        ),
    ),
    Case("missing image", _missing_image, ("image missing.fits does not exist",)),
    Case("bad band spec", _bad_spec, ("--band 'g': expected NAME=FILE",)),
    Case("not a FITS file", _not_fits, ("junk.fits: not a readable FITS file",)),
    Case(
        "unknown detection band",
        _unknown_detect_band,
        ("--detect-band 'y' is not a band (bands: g)",),
    ),
    Case(
        "nothing detected",
        _nothing_detected,
        ("no sources detected in band g", "flat.fits"),
    ),
]


@pytest.mark.parametrize("case", REFUSED, ids=[c.name for c in REFUSED])
def test_refused_with_one_line_and_nothing_written(case, field, tmp_path, capsys):
    argv = case.make(*field)
    store = tmp_path / "store"
    rc = cli.main(["ingest-images", str(store), "--no-progress", *argv])
    err = capsys.readouterr().err.strip()
    assert rc == 2, err
    assert len(err.splitlines()) == 1, err
    assert err.startswith("latentsky ingest-images: error: ")
    assert "Traceback" not in err
    for text in case.message:
        assert text in err, (text, err)
    assert not store.exists()
    assert not list(tmp_path.glob(".store*"))


def test_failed_overwrite_leaves_the_old_store(field, tmp_path, capsys):
    image, catalog, sky_of = field
    ra, dec = sky_of([20], [20])
    good = [
        "--band",
        f"g={image('g.fits')}",
        "--catalog",
        str(catalog("ok.csv", ra=ra, dec=dec)),
        "--size",
        "8",
        "--no-progress",
    ]
    store = tmp_path / "store"
    assert cli.main(["ingest-images", str(store), *good]) == 0
    before = {p.name: p.read_bytes() for p in store.iterdir() if p.is_file()}
    rc = cli.main(
        [
            "ingest-images",
            str(store),
            "--overwrite",
            "--no-progress",
            *_off_every_image(*field),
        ]
    )
    assert rc == 2
    assert {p.name: p.read_bytes() for p in store.iterdir() if p.is_file()} == before
    capsys.readouterr()


def _nan_block(image, catalog, sky_of):
    data = np.full(SHAPE, 5.0)
    data[10:20, 10:20] = np.nan
    ra, dec = sky_of([15, 45], [15, 45])
    return (
        [
            "--band",
            f"g={image('g.fits', data)}",
            "--catalog",
            str(catalog("c.csv", ra=ra, dec=dec)),
        ],
        "n_masked",
        [100, 0],
    )


def _saturated(image, catalog, sky_of):
    data = np.full(SHAPE, 5.0)
    data[40:43, 40:44] = 1000.0
    ra, dec = sky_of([15, 41], [15, 41])
    return (
        [
            "--band",
            f"g={image('g.fits', data, SATURATE=1000.0)}",
            "--catalog",
            str(catalog("c.csv", ra=ra, dec=dec)),
        ],
        "n_saturated",
        [0, 12],
    )


def _some_off(image, catalog, sky_of):
    ra, dec = sky_of([15, 4000, 45], [15, 15, 45])
    return (
        [
            "--band",
            f"g={image('g.fits')}",
            "--catalog",
            str(catalog("c.csv", id=[1, 2, 3], ra=ra, dec=dec)),
        ],
        "id",
        [1, 3],
    )


USABLE = [
    ("NaN block", _nan_block),
    ("saturated pixels", _saturated),
    ("one source off the image", _some_off),
]


@pytest.mark.parametrize("make", [m for _, m in USABLE], ids=[n for n, _ in USABLE])
def test_usable_damage_is_flagged(make, field, tmp_path, capsys):
    argv, column, expected = make(*field)
    store = tmp_path / "store"
    rc = cli.main(["ingest-images", str(store), "--size", "16", "--no-progress", *argv])
    out = capsys.readouterr().out
    assert rc == 0
    catalog = pd.read_parquet(Path(store) / "catalog.parquet")
    assert catalog[column].tolist() == expected
    if column == "id":
        assert "skipped 1 sources off the images (ids [2])" in out
