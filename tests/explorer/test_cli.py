"""The ``latentsky`` command line: help, one-line user errors, the data commands."""

from __future__ import annotations

import subprocess
import sys

import pytest

from explorer import cli
from explorer.store import Store

HEAVY = ("torch", "umap", "panel", "faiss", "datashader", "holoviews", "numba")


def _command_names() -> list[str]:
    return [module.NAME for module in cli._command_modules()]


def test_foundation_commands_are_registered():
    assert {"ingest", "demo-data", "info"} <= set(_command_names())


@pytest.mark.parametrize("name", _command_names())
def test_every_command_has_help(name, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main([name, "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert f"latentsky {name}" in out
    assert len(out.splitlines()) > 3


def test_top_level_help_lists_commands_and_imports_nothing_heavy():
    code = (
        "import sys\n"
        "from explorer import cli\n"
        "try:\n"
        "    cli.main(['--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        f"heavy = [m for m in {HEAVY!r} if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert "HEAVY []" in result.stdout
    for name in ("ingest", "demo-data", "info"):
        assert name in result.stdout


def test_user_error_is_one_line_exit_2_without_traceback(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "explorer.cli", "info", str(tmp_path / "missing")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("latentsky info: error: store ")
    assert "missing" in lines[0]
    assert "Traceback" not in result.stderr


def test_demo_data_ingest_info_end_to_end(tmp_path, capsys):
    fits_path = tmp_path / "demo.fits"
    assert (
        cli.main(
            [
                "demo-data",
                str(fits_path),
                "--n",
                "120",
                "--size",
                "16",
                "--seed",
                "4",
                "--no-progress",
            ]
        )
        == 0
    )
    assert "wrote 120 sources" in capsys.readouterr().out
    store_path = tmp_path / "store"
    assert (
        cli.main(
            [
                "ingest",
                str(fits_path),
                str(store_path),
                "--chunk",
                "50",
                "--no-progress",
            ]
        )
        == 0
    )
    assert "ingested 120 sources" in capsys.readouterr().out
    assert Store.open(store_path).n_sources == 120
    assert cli.main(["info", str(store_path)]) == 0
    out = capsys.readouterr().out
    assert "sources    120" in out
    assert "g, r, z" in out
    assert "_truth_label" not in out


def test_demo_data_refuses_to_overwrite(tmp_path, capsys):
    out = tmp_path / "demo.fits"
    out.write_text("keep me")
    assert cli.main(["demo-data", str(out), "--n", "10", "--size", "16"]) == 2
    err = capsys.readouterr().err
    assert "already exists" in err
    assert out.read_text() == "keep me"
    assert cli.main(["demo-data", str(out), "--n", "0"]) == 2
    assert "argument --n: must be >= 1, got '0'" in capsys.readouterr().err


def test_ingest_user_errors_exit_2(tmp_path, capsys):
    bad = tmp_path / "bad.fits"
    bad.write_bytes(b"nonsense" * 100)
    assert cli.main(["ingest", str(bad), str(tmp_path / "s")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("latentsky ingest: error:")
    assert "bad.fits" in err
    assert len(err.splitlines()) == 1
