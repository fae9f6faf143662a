"""``latentsky demo-data``: presets and their default size and seed."""

from __future__ import annotations

from astropy.io import fits

from explorer import cli
from explorer.commands import demo_data
from explorer.ingest.synthetic import PRESETS


def test_preset_choices_are_the_presets():
    import argparse

    parser = argparse.ArgumentParser()
    demo_data.add_arguments(parser)
    action = next(a for a in parser._actions if a.dest == "preset")
    assert set(action.choices) == set(PRESETS)


def test_second_preset_uses_its_size_and_seed_unless_given(tmp_path, capsys):
    out = tmp_path / "second.fits"
    argv = ["demo-data", str(out), "--n", "20", "--preset", "second", "--no-progress"]
    assert cli.main(argv) == 0
    assert "second preset, 48 px, seed 1" in capsys.readouterr().out
    with fits.open(out) as hdul:
        assert hdul[0].header["PRESET"] == "second"
        assert hdul[0].data.shape == (20, 3, 48, 48)
    assert cli.main([*argv, "--overwrite", "--size", "16", "--seed", "3"]) == 0
    with fits.open(out) as hdul:
        assert hdul[0].header["SEED"] == 3
        assert hdul[0].data.shape == (20, 3, 16, 16)


def test_unknown_preset_is_a_usage_error(tmp_path, capsys):
    out = tmp_path / "x.fits"
    try:
        cli.main(["demo-data", str(out), "--preset", "third"])
    except SystemExit as exit_info:
        assert exit_info.code == 2
    assert "invalid choice: 'third'" in capsys.readouterr().err
    assert not out.exists()
