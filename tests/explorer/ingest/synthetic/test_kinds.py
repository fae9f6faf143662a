"""Source kinds of the synthetic survey: fractions, renders, colours, morphology."""

from __future__ import annotations

import numpy as np
import pytest

from explorer.ingest.synthetic import (
    ARTEFACT_KINDS,
    HZQ_LIKE_KINDS,
    KIND_FRACTIONS,
    KINDS,
    RARE_KINDS,
    SCIENCE_KINDS,
    make_cutouts,
)
from explorer.ingest.synthetic.renderers import RENDERERS


def test_fractions_sum_to_one_and_rare_kinds_are_rare_but_countable():
    assert sum(KIND_FRACTIONS.values()) == pytest.approx(1.0)
    assert SCIENCE_KINDS | ARTEFACT_KINDS == RARE_KINDS
    assert not SCIENCE_KINDS & ARTEFACT_KINDS
    assert {"ring", "lens_arc", "merger", "dust_lane"} == SCIENCE_KINDS
    assert {"cosmic_ray", "satellite_trail", "bad_column", "bleed_trail"} == (
        ARTEFACT_KINDS
    )
    rare = sum(KIND_FRACTIONS[k] for k in RARE_KINDS)
    assert 0.04 <= rare <= 0.06
    # a 3 000-source survey holds >= 15 of every rare kind
    assert all(3000 * KIND_FRACTIONS[k] >= 15 for k in RARE_KINDS)
    assert all(KIND_FRACTIONS[k] < 0.01 for k in RARE_KINDS)
    assert set(RENDERERS) == set(KINDS)


def test_survey_holds_the_exact_fractions(survey):
    _, cat = survey
    counts = cat["_truth_label"].value_counts()
    assert set(counts.index) == set(KIND_FRACTIONS)
    for kind, frac in KIND_FRACTIONS.items():
        assert abs(counts[kind] - frac * len(cat)) <= 1.5, kind


def test_rare_kinds_present_even_in_small_surveys():
    _, cat = make_cutouts(100, size=16, seed=0)
    assert RARE_KINDS <= set(cat["_truth_label"])


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_renders_finite_non_negative_light(kind, noiseless):
    cv, img, _, _ = noiseless(RENDERERS[kind], 6, size=32, seed=KINDS.index(kind))
    assert np.isfinite(cv.ext).all() and np.isfinite(img).all()
    # light is physical: no negative flux before the detector (the FFT's
    # round-off aside)
    assert cv.ext.min() >= 0
    assert all((f >= 0).all() for _, _, f in cv.points)
    assert img.min() > -1e-4
    # every cutout has a source at its centre, in every band
    centre = img[:, :, 13:19, 13:19].sum(axis=(2, 3))
    assert (centre > 0).all()


def _true_colours(render, noiseless, seed):
    """g - r and r - z of the total (noiseless, whole field) light."""
    _, img, _, _ = noiseless(render, 400, size=32, seed=seed)
    flux = img.sum(axis=(2, 3))
    return (
        -2.5 * np.log10(flux[:, 0] / flux[:, 1]),
        -2.5 * np.log10(flux[:, 1] / flux[:, 2]),
    )


def test_hzq_like_kinds_overlap_in_colour_and_differ_from_stars(noiseless):
    colours = {
        kind: _true_colours(RENDERERS[kind], noiseless, i)
        for i, kind in enumerate(sorted(HZQ_LIKE_KINDS | {"star"}))
    }
    g_r_star = colours["star"][0]
    for kind in HZQ_LIKE_KINDS:
        g_r, r_z = colours[kind]
        assert np.median(g_r) > np.percentile(g_r_star, 95)
        for other in HZQ_LIKE_KINDS - {kind}:
            # overlap: the medians lie inside each other's inner 80 %
            lo, hi = np.percentile(colours[other][0], [10, 90])
            assert lo < np.median(g_r) < hi, (kind, other)
            lo, hi = np.percentile(colours[other][1], [10, 90])
            assert lo < np.median(r_z) < hi, (kind, other)


def test_quasars_have_faint_structure_brown_dwarfs_do_not(noiseless):
    def concentration(kind: str) -> np.ndarray:
        _, img, _, _ = noiseless(RENDERERS[kind], 300, size=64, seed=3)
        # a bare point source's light ratio depends on the PSF only; a host
        # galaxy moves light out of the core
        yy, xx = np.mgrid[:64, :64]
        r = np.hypot(xx - 31.5, yy - 31.5)
        return img[:, 1, r <= 3].sum(-1) / img[:, 1, r <= 12].sum(-1)

    assert np.median(concentration("red_quasar")) < (
        np.median(concentration("brown_dwarf")) - 0.05
    )


def test_galaxies_are_extended_and_stars_point_like(survey):
    _, cat = survey
    labels = cat["_truth_label"].to_numpy()
    bright = cat["mag_r"].to_numpy() < 20.0
    size = cat["size_r"].to_numpy()
    assert np.median(size[(labels == "star") & bright]) < (
        np.median(size[(labels == "disc") & bright]) - 0.1
    )


def test_magnitudes_rise_to_the_faint_end(survey):
    _, cat = survey
    galaxies = cat["_truth_label"].isin(["elliptical", "disc"]).to_numpy()
    mag = cat.loc[galaxies, "mag_r"].to_numpy()
    assert (mag > 21).sum() > 2 * (mag < 20).sum()
