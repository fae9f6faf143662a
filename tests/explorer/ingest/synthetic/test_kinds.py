"""Source kinds of the synthetic survey: fractions, colours, extent."""

from __future__ import annotations

import numpy as np
import pytest

from explorer.ingest.synthetic import (
    KIND_FRACTIONS,
    RARE_KINDS,
    make_cutouts,
)


def test_label_fractions_and_rare_kinds(survey):
    _, cat = survey
    counts = cat["_truth_label"].value_counts()
    assert set(counts.index) == set(KIND_FRACTIONS)
    for kind, frac in KIND_FRACTIONS.items():
        assert abs(counts[kind] - frac * len(cat)) <= 1.5, kind
    assert RARE_KINDS < set(KIND_FRACTIONS)
    for kind in RARE_KINDS:
        assert 1 <= counts[kind] <= 0.01 * len(cat)
    assert sum(KIND_FRACTIONS.values()) == pytest.approx(1.0)


def test_rare_kinds_present_even_in_small_surveys():
    _, cat = make_cutouts(100, size=16, seed=0)
    assert RARE_KINDS <= set(cat["_truth_label"])


def test_red_point_sources_are_redder_than_stars(survey, aperture_flux):
    cube, cat = survey
    flux = aperture_flux(cube, 4.0)
    g_r = -2.5 * np.log10(np.clip(flux[:, 0], 1e-3, None) / flux[:, 1])
    labels = cat["_truth_label"].to_numpy()
    quasar, star = g_r[labels == "red_quasar"], g_r[labels == "star"]
    assert np.median(quasar) > 1.9
    assert np.median(star) < 1.2
    assert np.median(quasar) > np.percentile(star, 95)


def test_galaxies_are_extended_and_stars_point_like(survey, aperture_flux):
    cube, cat = survey
    # concentration: flux within 2 px over flux within 8 px (r band)
    conc = aperture_flux(cube, 2.0)[:, 1] / aperture_flux(cube, 8.0)[:, 1]
    labels = cat["_truth_label"].to_numpy()
    bright = cat["mag_r"].to_numpy() < 19.5
    assert (
        np.median(conc[(labels == "star") & bright])
        > np.median(conc[(labels == "disc") & bright]) + 0.15
    )
