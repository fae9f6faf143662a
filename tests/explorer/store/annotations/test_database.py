"""Tests of explorer.store.annotations.database: the file, WAL, schema, revision."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest

from explorer.errors import StoreError
from explorer.store.annotations import Annotations


def test_wal_mode_is_set(notes):
    con = sqlite3.connect(notes.path)
    try:
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        con.close()


def test_persists_across_reopen(tmp_path):
    path = tmp_path / "a.sqlite"
    first = Annotations(path)
    first.save_cluster("arcs", np.array([1, 2], dtype=np.int64))
    first.tag(7, "interesting")
    again = Annotations(path)
    np.testing.assert_array_equal(again.members("arcs"), [1, 2])
    assert again.tags()["source_id"].tolist() == [7]


def test_revision_counts_writes(notes):
    start = notes.revision()
    notes.save_cluster("a", [1])
    notes.tag(1, "interesting")
    assert notes.revision() == start + 2


def test_not_a_database(tmp_path):
    bad = tmp_path / "bad.sqlite"
    bad.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="bad.sqlite"):
        Annotations(bad)


def test_concurrent_threads_and_process(tmp_path):
    path = tmp_path / "shared.sqlite"
    Annotations(path)
    n = 40
    code = textwrap.dedent(
        f"""
        from explorer.store.annotations import Annotations
        notes = Annotations({str(path)!r})
        for i in range({n}):
            notes.save_cluster(f"proc-{{i}}", range(i, i + 50))
            notes.tag(10_000 + i, "interesting")
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", code])
    shared = Annotations(path)  # one object used by several threads
    errors: list[BaseException] = []

    def writer(prefix: str) -> None:
        try:
            for i in range(n):
                shared.save_cluster(f"{prefix}-{i}", range(i, i + 50))
                shared.tag(i, "boring")
                shared.clusters()
        except BaseException as exc:  # noqa: BLE001 - collected for the assert
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(f"t{j}",)) for j in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert proc.wait(timeout=60) == 0
    assert errors == []
    table = shared.clusters()
    assert len(table) == 4 * n
    assert (table["n_members"] == 50).all()
    assert len(shared.tags()) == 2 * n
