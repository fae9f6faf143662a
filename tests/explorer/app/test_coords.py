"""Cone search against brute-force angular separations; sexagesimal; parsing."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from astropy import units as u
from astropy.coordinates import SkyCoord

from explorer.app import coords
from explorer.errors import DataError


def brute_force(ra, dec, cone: coords.Cone) -> np.ndarray:
    sky = SkyCoord(ra * u.deg, dec * u.deg)
    centre = SkyCoord(cone.ra * u.deg, cone.dec * u.deg)
    return np.flatnonzero(sky.separation(centre).deg <= cone.radius)


def uniform_sky(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    ra = rng.uniform(0, 360, n)
    dec = np.degrees(np.arcsin(rng.uniform(-1, 1, n)))
    return ra, dec


@pytest.mark.parametrize(
    "cone",
    [
        coords.Cone(150.0, 2.0, 5.0),
        coords.Cone(0.5, 10.0, 3.0),  # straddles RA = 0/360
        coords.Cone(359.8, -20.0, 2.0),
        coords.Cone(45.0, 88.5, 4.0),  # over the north pole
        coords.Cone(200.0, -89.9, 1.0),
    ],
)
def test_cone_matches_brute_force_angular_separation(cone):
    ra, dec = uniform_sky(40_000, seed=1)
    # crowd the cone so the test is not about empty sets
    rng = np.random.default_rng(2)
    ra = np.concatenate([ra, (cone.ra + rng.normal(0, cone.radius, 300)) % 360])
    dec = np.concatenate(
        [dec, np.clip(cone.dec + rng.normal(0, cone.radius, 300), -90, 90)]
    )
    index = coords.SkyIndex(ra, dec)
    found = index.cone(cone.ra, cone.dec, cone.radius)
    expected = brute_force(ra, dec, cone)
    assert len(expected) > 50
    # points within 1e-9 deg of the edge may go either way (rounding)
    sep = coords.angular_separation(ra, dec, cone.ra, cone.dec)
    edge = np.flatnonzero(np.abs(sep - cone.radius) < 1e-9)
    assert np.setxor1d(found, expected).tolist() == [
        i for i in np.setxor1d(found, expected) if i in edge
    ]


def test_wrap_by_hand():
    # 359.99 and 0.01 at Dec 0 are 0.02 deg apart; 180 is not near
    index = coords.SkyIndex(np.array([359.99, 0.01, 180.0]), np.zeros(3))
    assert index.cone(0.0, 0.0, 0.015).tolist() == [0, 1]
    # at Dec 89.99 RA 0 and RA 180 are 0.02 deg apart across the pole
    polar = coords.SkyIndex(np.array([0.0, 180.0, 90.0]), np.array([89.99, 89.99, 80]))
    assert polar.cone(0.0, 89.99, 0.021).tolist() == [0, 1]


def test_nan_positions_are_never_found():
    index = coords.SkyIndex(
        np.array([10.0, np.nan, 10.0]), np.array([0.0, 0.0, np.nan])
    )
    assert index.cone(10.0, 0.0, 1.0).tolist() == [0]


@pytest.mark.parametrize(
    ("text", "ra", "dec", "radius"),
    [
        ("10h00m24s +02d12m00s 30arcsec", 150.1, 2.2, 30 / 3600),
        ("10:00:24 +02:12:00 2arcmin", 150.1, 2.2, 2 / 60),
        ("150.1 2.2 0.5deg", 150.1, 2.2, 0.5),
        ('150.1, -2.2, 30"', 150.1, -2.2, 30 / 3600),
        ("150.1d -2.2d 1'", 150.1, -2.2, 1 / 60),
    ],
)
def test_parse_cone_formats(text, ra, dec, radius):
    cone = coords.parse_cone(text)
    assert cone.ra == pytest.approx(ra) and cone.dec == pytest.approx(dec)
    assert cone.radius == pytest.approx(radius)


def test_parse_cone_by_name_and_errors():
    names = pd.Series(["NGC 1300", "M 101"])
    positions = (np.array([49.92, 210.80]), np.array([-19.41, 54.35]))
    cone = coords.parse_cone("m101 1arcmin", names, positions)
    assert (cone.ra, cone.dec, cone.radius) == (210.80, 54.35, pytest.approx(1 / 60))
    assert coords.parse_cone("NGC 1300", names, positions).radius == pytest.approx(
        coords.DEFAULT_RADIUS_DEG
    )
    with pytest.raises(DataError, match="no radius in cone search '150 2'"):
        coords.parse_cone("150 2")
    with pytest.raises(DataError, match="cannot read a sky position from 'nowhere'"):
        coords.parse_cone("nowhere 3arcsec")
    with pytest.raises(DataError, match="not in \\(0, 180\\]"):
        coords.parse_cone("150 2 200deg")
    with pytest.raises(DataError, match="empty"):
        coords.parse_cone("  ")


def test_sexagesimal_and_caption():
    assert coords.sexagesimal(150.1, 2.2) == ["10h00m24.00s +02d12m00.00s"]
    text = coords.format_radec(150.1, -2.2)
    assert "RA 150.10000°" in text and "Dec -2.20000°" in text
    assert "10h00m24.00s -02d12m00.00s" in text
    assert coords.format_radec(np.nan, 1.0) == "RA/Dec unknown"


def test_index_of_catalog_finds_a_name_column():
    catalog = pd.DataFrame(
        {"id": [1, 2], "ra": [10.0, 20.0], "dec": [0.0, 1.0], "Name": ["a b", "c"]}
    )
    index = coords.SkyIndex.of_catalog(catalog)
    cone, rows = index.search("AB 1arcsec")
    assert rows.tolist() == [0] and cone.ra == 10.0
    with pytest.raises(DataError, match="no 'dec' column"):
        coords.SkyIndex.of_catalog(catalog.drop(columns="dec"))


def test_unwrapped_ra_keeps_a_field_across_zero_in_one_piece():
    ra = np.array([350.0, 355.0, 359.0, 2.0, 9.0])
    assert coords.unwrapped_ra(ra).tolist() == [350.0, 355.0, 359.0, 362.0, 369.0]
    # a field far from 0 is unchanged
    assert coords.unwrapped_ra(np.array([150.0, 151.0])).tolist() == [150.0, 151.0]


def test_angles_read_in_the_best_unit():
    assert coords.format_angle(30 / 3600) == "30″"
    assert coords.format_angle(25 / 60) == "25′"
    assert coords.format_angle(1.5) == "1.5°"
    assert coords.format_angle(59.9 / 3600) == "59.9″"  # under a minute
    cone = coords.Cone(150.0, 2.0, 0.5 / 3600)
    assert cone.describe().endswith("r = 0.5″")
