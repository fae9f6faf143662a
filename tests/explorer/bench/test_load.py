"""Small, bounded runs of ``latentsky bench load`` and ``bench soak``: real
server, real chromium (marked ui and slow)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from explorer.bench.ui import CHROMIUM

pytestmark = [pytest.mark.ui, pytest.mark.slow]
LATENTSKY = str(Path(sys.executable).with_name("latentsky"))


@pytest.fixture(autouse=True)
def _needs_chromium():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} missing: apt-get install -y chromium")


def _bench(*args: str, timeout: float) -> dict:
    done = subprocess.run(
        [LATENTSKY, "bench", *args], capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, done.stderr[-3000:]
    path = Path(done.stdout.strip().split("wrote ", 1)[1])
    return json.loads(path.read_text())


@pytest.mark.parametrize("client", ["bokeh", "browser"])
def test_two_sessions_hover_select_and_save(analysed_store, tmp_path, client):
    from explorer.store.annotations import Annotations

    before = Annotations(analysed_store / "annotations.sqlite").clusters()
    record = _bench(
        "load", "--store", str(analysed_store), "--sessions", "2",
        "--duration", "5", "--client", client, "--out", str(tmp_path), timeout=240,
    )  # fmt: skip
    assert record["benchmark"] == ("load" if client == "bokeh" else "load-browser")
    assert record["results"]["client"] == client
    assert record["environment"]["cores"] >= 1
    results = record["results"]
    (count,) = results["per_session_count"]
    assert count["sessions"] == 2
    assert count["errors"] == []
    assert count["open_s"]["n"] == 2
    assert count["selection_s"]["n"] >= 2
    assert count["hover_ms"]["n"] >= 1
    notes = results["annotations"]
    assert notes["confirmed_saves"] >= 2
    assert notes["clusters_in_sqlite"] == notes["confirmed_saves"]
    assert notes["lost"] == [] and notes["duplicated"] == []
    assert results["server_tracebacks"] == 0
    # the benchmark works on a copy: the given store is unchanged
    after = Annotations(analysed_store / "annotations.sqlite").clusters()
    assert len(after) == len(before)


def test_sessions_on_two_serving_processes_save_into_one_store(
    analysed_store, tmp_path
):
    record = _bench(
        "load", "--store", str(analysed_store), "--sessions", "4",
        "--duration", "5", "--processes", "2", "--out", str(tmp_path), timeout=240,
    )  # fmt: skip
    assert record["benchmark"] == "load-procs2"
    results = record["results"]
    assert results["server_processes"] == 2
    (count,) = results["per_session_count"]
    assert count["errors"] == []
    assert count["open_s"]["n"] == 4
    notes = results["annotations"]
    # every save confirmed by whichever process held its session is in the
    # one SQLite file, exactly once
    assert notes["confirmed_saves"] >= 4
    assert notes["clusters_in_sqlite"] == notes["confirmed_saves"]
    assert notes["lost"] == [] and notes["duplicated"] == []
    assert results["server_tracebacks"] == 0


def test_soak_of_a_few_sessions(analysed_store, tmp_path):
    record = _bench(
        "soak", "--store", str(analysed_store), "--sessions", "3", "--idle", "6",
        "--out", str(tmp_path), timeout=240,
    )  # fmt: skip
    results = record["results"]
    assert results["sessions"] == 3
    assert results["tracebacks"] == 0
    assert results["failed_sending_lines"] == 0
    assert results["idle_cpu_share"] < 0.10
    assert results["rss_growth"] < 1.5


def test_traceback_kinds_name_the_exception_that_ended_each():
    from explorer.bench.load import traceback_kinds

    log = "\n".join(
        [
            "INFO ok",
            "Traceback (most recent call last):",
            '  File "x.py", line 1, in f',
            "    raise ValueError('bad')",
            "ValueError: bad",
            "ERROR again",
            "Traceback (most recent call last):",
            '  File "y.py", line 2, in g',
            "KeyError: 'x'",
            "Traceback (most recent call last):",
            '  File "x.py", line 1, in f',
            "ValueError: bad",
        ]
    )
    assert traceback_kinds(log) == {"ValueError: bad": 2, "KeyError: 'x'": 1}
    assert traceback_kinds("no errors here") == {}
