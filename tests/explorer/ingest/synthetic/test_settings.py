"""Survey settings and presets."""

from __future__ import annotations

import dataclasses
import json

import pytest

from explorer.ingest.synthetic import (
    DEMO,
    KIND_FRACTIONS,
    PRESETS,
    SurveySettings,
    preset,
)


def test_presets_differ_in_seeing_depth_size_and_seed():
    demo, second = PRESETS["demo"], PRESETS["second"]
    assert demo is DEMO and set(PRESETS) == {"demo", "second"}
    assert (
        second.seeing_r[0] > demo.seeing_r[0] and second.seeing_r[1] > demo.seeing_r[1]
    )
    assert second.seeing_r == (0.9, 1.6)
    assert all(s > d for s, d in zip(second.sky_sigma, demo.sky_sigma, strict=True))
    assert second.mag_limit < demo.mag_limit
    assert (second.default_size, second.default_seed) != (
        demo.default_size,
        demo.default_seed,
    )
    assert second.fractions == demo.fractions == KIND_FRACTIONS


def test_settings_are_frozen_hashable_and_serialisable():
    with pytest.raises(dataclasses.FrozenInstanceError):
        DEMO.mag_limit = 30.0  # type: ignore[misc]
    assert len({DEMO, PRESETS["second"], SurveySettings()}) == 2
    values = json.loads(DEMO.to_json())
    assert values["name"] == "demo" and values["seeing_r"] == [0.65, 1.15]
    assert values["kind_fractions"] == KIND_FRACTIONS
    assert DEMO.pixel_scale(64) == 0.25


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"seeing_r": (1.2, 0.8)}, "seeing_r"),
        ({"moffat_beta": 1.0}, "moffat_beta"),
        ({"companion_rate": 1.5}, "companion_rate"),
        ({"sky_sigma": (0.01, 0.0, 0.02)}, "sky_sigma"),
        ({"kind_fractions": (("star", 1.0),)}, "kind_fractions names"),
        (
            {"kind_fractions": tuple((k, 0.5) for k in KIND_FRACTIONS)},
            "sum to 1",
        ),
    ],
)
def test_bad_settings_name_the_field(change, match):
    with pytest.raises(ValueError, match=match):
        dataclasses.replace(DEMO, **change)


def test_unknown_preset_names_the_choices():
    assert preset("second") is PRESETS["second"]
    with pytest.raises(ValueError, match=r"unknown survey preset 'third'.*demo"):
        preset("third")
