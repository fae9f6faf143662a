"""The shared option groups: parsed values, settings dict, defaults in the help."""

from __future__ import annotations

import argparse

import pytest

from explorer import argtypes
from explorer.commands import options
from explorer.jobs.runner import training_defaults


def _parser(**kwargs) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="t")
    options.add_training_options(parser, **kwargs)
    options.add_workers_option(parser)
    options.add_device_option(parser)
    return parser


def test_training_settings_hold_only_the_given_flags():
    args = _parser().parse_args(
        ["--width", "8", "--layers", "1,1,1,1", "--workers", "0"]
    )
    assert options.training_settings(args) == {
        "width": 8,
        "layers": [1, 1, 1, 1],
        "num_workers": 0,
    }
    assert args.device == "auto"
    assert options.training_settings(_parser().parse_args([])) == {}


def test_command_defaults_are_settings_and_shown_in_help(capsys):
    parser = _parser(only=("epochs", "width"), defaults={"epochs": 6})
    assert options.training_settings(parser.parse_args([])) == {"epochs": 6}
    with pytest.raises(SystemExit):
        parser.parse_args(["--help"])
    out = capsys.readouterr().out
    assert "(default 6)" in out
    assert f"(default {training_defaults()['width']})" in out
    assert "--lr" not in out


@pytest.mark.parametrize(
    ("parse", "text", "value"),
    [
        (argtypes.positive_int, "3", 3),
        (argtypes.non_negative_int, "0", 0),
        (argtypes.port, "0", 0),
        (argtypes.port, "65535", 65535),
        (argtypes.positive_float, "0.5", 0.5),
        (argtypes.non_negative_float, "0", 0.0),
        (argtypes.non_negative_float, "1.5", 1.5),
        (argtypes.int_list, "3, -1,,7", [3, -1, 7]),
        (argtypes.positive_int_list, "2,2,2,2", [2, 2, 2, 2]),
        (argtypes.int_at_least(16), "16", 16),
    ],
)
def test_types_accept_good_values(parse, text, value):
    assert parse(text) == value


@pytest.mark.parametrize(
    ("parse", "text"),
    [
        (argtypes.positive_int, "0"),
        (argtypes.positive_int, "1.5"),
        (argtypes.non_negative_int, "-1"),
        (argtypes.port, "65536"),
        (argtypes.positive_float, "-0.1"),
        (argtypes.positive_float, "inf"),
        (argtypes.positive_float, "nan"),
        (argtypes.non_negative_float, "-0.1"),
        (argtypes.non_negative_float, "nan"),
        (argtypes.non_negative_float, "inf"),
        (argtypes.non_negative_float, "x"),
        (argtypes.int_list, ""),
        (argtypes.positive_int_list, "1,0"),
    ],
)
def test_types_reject_bad_values_naming_them(parse, text):
    with pytest.raises(argparse.ArgumentTypeError, match=repr(text)):
        parse(text)
