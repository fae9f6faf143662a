"""Tests of ``latentsky bench``'s flags (shared option groups, no run)."""

from __future__ import annotations

import argparse

import pytest

from explorer.commands import bench


def _parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    bench.add_arguments(parser)
    return parser.parse_args(list(argv))


def test_ssl_flags_default_to_the_benchmarks_small_encoder():
    from explorer.bench.ssl import TRAINING_DEFAULTS
    from explorer.commands.options import training_settings

    args = _parse("ssl")
    assert args.device == "cpu" and args.workers == 1 and args.eval_n == 3000
    assert training_settings(args) == {**TRAINING_DEFAULTS, "num_workers": 1}


def test_ssl_flags_parse_the_shared_training_options():
    from explorer.commands.options import training_settings

    args = _parse("ssl", "--layers", "2,2,2,2", "--epochs", "3", "--num-workers", "0")
    settings = training_settings(args)
    assert settings["layers"] == [2, 2, 2, 2] and settings["epochs"] == 3
    assert settings["num_workers"] == 0


@pytest.mark.parametrize(
    "argv", [("ssl", "--device", "tpu"), ("ssl", "--epochs", "0"), ("nope",)]
)
def test_bad_values_are_argparse_errors(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        _parse(*argv)
    assert exc.value.code == 2


def test_every_suite_and_all_parse():
    for suite in (*bench.SUITES, "all"):
        assert _parse(suite).suite == suite
