"""Fixtures of the bad-input suites: the real ``latentsky`` command and tree hashes."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

#: Seconds one ``latentsky`` subprocess of a bad-input case may take.
CLI_TIMEOUT_S = 120


@dataclass(frozen=True)
class CliResult:
    """Exit status and output of one ``latentsky`` run."""

    code: int
    stdout: str
    stderr: str

    def error_lines(self) -> list[str]:
        """The stderr lines that carry an error (``latentsky CMD: error: ...``)."""
        return [line for line in self.stderr.splitlines() if ": error: " in line]


def _run_cli(*argv: str | Path, timeout: float = CLI_TIMEOUT_S) -> CliResult:
    latentsky = Path(sys.executable).with_name("latentsky")
    done = subprocess.run(
        [str(latentsky), *map(str, argv)],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return CliResult(done.returncode, done.stdout, done.stderr)


def _tree_hash(root: Path) -> dict[str, str]:
    """SHA-256 of every file under ``root`` (relative path -> digest)."""
    if not root.exists():
        return {}
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="session")
def latentsky_cli() -> Callable[..., CliResult]:
    """``latentsky_cli(*argv, timeout=120) -> CliResult``: the real command."""
    return _run_cli


@pytest.fixture(scope="session")
def tree_hash() -> Callable[[Path], dict[str, str]]:
    """``tree_hash(root) -> {relative path: sha256}`` of every file under root."""
    return _tree_hash


def assert_one_line_error(result: CliResult, command: str, message: str) -> None:
    """Exit 2, exactly one ``latentsky CMD: error:`` line holding ``message``."""
    detail = f"exit {result.code}\nstdout: {result.stdout}\nstderr: {result.stderr}"
    assert "Traceback" not in result.stderr, detail
    assert result.code == 2, detail
    lines = result.error_lines()
    assert len(lines) == 1, detail
    assert lines[0].startswith(f"latentsky {command}: error: "), detail
    assert message.lower() in lines[0].lower(), detail


@pytest.fixture(scope="session")
def one_line_error() -> Callable[[CliResult, str, str], None]:
    """``one_line_error(result, command, message)``: assert the promised error."""
    return assert_one_line_error
