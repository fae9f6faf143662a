"""Artefacts: cosmic rays, satellite trails, bad columns, saturation and bleed."""

from __future__ import annotations

import numpy as np
import pytest

from explorer.ingest.synthetic import (
    COSMIC_RAY_SIGMA,
    DEMO,
    TRAIL_PEAK_SIGMA,
    optics_for,
)
from explorer.ingest.synthetic.artefacts import (
    bad_columns,
    base_source,
    bright_star,
    cosmic_rays,
    line_peak,
    satellite_trail,
    saturate,
)
from explorer.ingest.synthetic.optics import convolve


def test_cosmic_rays_hit_exactly_one_band_with_sharp_tracks():
    optics = optics_for(64, DEMO)
    img = np.zeros((200, 3, 64, 64), np.float32)
    cosmic_rays(img, optics, np.random.default_rng(0))
    hit = (img > 0).any(axis=(2, 3))
    assert (hit.sum(axis=1) == 1).all()
    pixels = (img > 0).sum(axis=(1, 2, 3))
    assert pixels.min() >= 1 and pixels.max() <= 3 * 9
    height = img.max(axis=(2, 3))[hit] / optics.sky[np.nonzero(hit)[1]]
    assert height.min() >= 0.6 * COSMIC_RAY_SIGMA[0]
    # up to three tracks may cross
    assert height.max() <= 3 * COSMIC_RAY_SIGMA[1]


def test_line_peak_matches_a_convolved_line():
    optics = optics_for(64, DEMO)
    ext = np.zeros((1, 3, optics.P, optics.P), np.float32)
    ext[0, :, :, optics.P // 2] = 1.0  # one unit of flux per pixel of length
    level = np.array([[3, 10, 20]])
    img = convolve(ext, [], level, optics)
    expected = line_peak(optics.gamma[np.arange(3), level[0]], optics.beta)
    np.testing.assert_allclose(img[0].max(axis=(1, 2)), expected, rtol=0.02)


def test_trail_peaks_span_a_few_to_150_sigma_in_one_to_three_bands(noiseless):
    k = 300
    _, with_trail, _, optics = noiseless(satellite_trail, k, seed=5)
    _, base, _, _ = noiseless(base_source, k, seed=5)  # the same sources
    trail = with_trail - base
    peak = trail.max(axis=(2, 3)) / optics.sky[None, :]
    crossed = peak > 0.5
    n_bands = crossed.sum(axis=1)
    assert n_bands.min() >= 1 and n_bands.max() == 3
    assert 0.45 < np.mean(n_bands == 1) < 0.75
    # pixel sampling of a thin line lowers its peak a little
    assert peak[crossed].min() >= 0.8 * TRAIL_PEAK_SIGMA[0]
    assert peak[crossed].max() <= 1.02 * TRAIL_PEAK_SIGMA[1]
    assert np.median(peak[crossed]) == pytest.approx(
        np.sqrt(np.prod(TRAIL_PEAK_SIGMA)), rel=0.4
    )


def test_bad_column_changes_one_column_of_one_band():
    optics = optics_for(32, DEMO)
    img = np.zeros((100, 3, 32, 32), np.float32)
    bad_columns(img, optics, np.random.default_rng(2))
    changed = img != 0
    assert (changed.any(axis=(2, 3)).sum(axis=1) == 1).all()
    columns = changed.any(axis=2).sum(axis=(1, 2))
    assert set(columns) <= {1, 2}
    level = np.abs(img).max(axis=(1, 2, 3)) / optics.sky.max()
    assert level.min() > 1.0


def test_saturated_stars_are_flat_topped_and_bleed_vertically(noiseless):
    _, img, _, optics = noiseless(bright_star, 20, seed=1)
    mask = saturate(img, optics, np.random.default_rng(0))
    sat = optics.saturation
    # every one saturates in r (blue or red ones may stay below in g or z)
    assert mask[:, 1].any(axis=(1, 2)).all()
    full = np.broadcast_to(sat[None, :, None, None], img.shape)
    np.testing.assert_array_equal(img[mask], full[mask])
    assert (img <= sat[None, :, None, None]).all()
    rows = mask.any(axis=3).sum(axis=2)  # extent along y (columns bleed)
    cols = mask.any(axis=2).sum(axis=2)
    assert (rows > cols).mean() > 0.9


def test_saturation_leaves_ordinary_sources_alone(survey):
    cube, cat = survey
    ordinary = ~cat["_truth_label"].isin(["bleed_trail"]).to_numpy()
    sat = optics_for(32, DEMO).saturation
    assert (cube[ordinary].max(axis=(2, 3)) < sat[None, :]).mean() > 0.995
