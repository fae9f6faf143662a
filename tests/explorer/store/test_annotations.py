"""Tests of explorer.store.annotations: clusters and tags in SQLite (WAL)."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest

from explorer.errors import DataError, StoreError
from explorer.store.annotations import Annotations


@pytest.fixture
def notes(tmp_path):
    return Annotations(tmp_path / "annotations.sqlite")


def test_save_and_read_back(notes):
    cid = notes.save_cluster("rings", [5, 3, 3, 9], note="ring galaxies", version="v1")
    assert isinstance(cid, int)
    np.testing.assert_array_equal(notes.members("rings"), [3, 5, 9])
    table = notes.clusters()
    assert list(table.columns[:5]) == [
        "name",
        "note",
        "n_members",
        "created",
        "updated",
    ]
    row = table.iloc[0]
    assert (row["name"], row["note"], row["n_members"], row["version"]) == (
        "rings",
        "ring galaxies",
        3,
        "v1",
    )
    assert notes.cluster_note("rings") == "ring galaxies"


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


def test_duplicate_name_is_refused_unless_overwrite(notes):
    notes.save_cluster("a", [1, 2], note="first")
    with pytest.raises(DataError, match="already exists"):
        notes.save_cluster(" a ", [3])
    notes.save_cluster("a", [3, 4], note="second", overwrite=True)
    np.testing.assert_array_equal(notes.members("a"), [3, 4])
    assert notes.clusters()["note"].tolist() == ["second"]


@pytest.mark.parametrize("name", ["", "   ", "x" * 201])
def test_bad_names(notes, name):
    with pytest.raises(DataError, match="cluster name"):
        notes.save_cluster(name, [1])


def test_empty_selection_is_refused(notes):
    with pytest.raises(DataError, match="selection is empty"):
        notes.save_cluster("a", [])
    with pytest.raises(DataError, match="integers"):
        notes.save_cluster("a", [1.5, 2.0])
    assert notes.clusters().empty


def test_unknown_cluster_named_in_error(notes):
    notes.save_cluster("known", [1])
    with pytest.raises(DataError, match="no saved cluster named 'nope'.*'known'"):
        notes.members("nope")
    with pytest.raises(DataError, match="no saved cluster"):
        notes.delete("nope")
    with pytest.raises(DataError, match="no saved cluster"):
        notes.set_note("nope", "x")


def test_rename_keeps_members_and_refuses_collisions(notes):
    notes.save_cluster("a", [1, 2], note="n")
    notes.save_cluster("b", [3])
    with pytest.raises(DataError, match="already exists"):
        notes.rename("a", "b")
    notes.rename("a", "c")
    assert notes.names() == ["c", "b"]
    np.testing.assert_array_equal(notes.members("c"), [1, 2])
    with pytest.raises(DataError):
        notes.members("a")


def test_delete_cascades_to_members(notes):
    notes.save_cluster("a", [1, 2])
    notes.save_cluster("b", [2, 3])
    notes.delete("a")
    con = sqlite3.connect(notes.path)
    try:
        rows = con.execute(
            "SELECT source_id FROM members ORDER BY source_id"
        ).fetchall()
    finally:
        con.close()
    assert [r[0] for r in rows] == [2, 3]
    assert notes.clusters_of([1, 2, 3]).tolist() == ["", "b", "b"]


def test_set_note_updates_timestamp(notes):
    notes.save_cluster("a", [1])
    before = notes.clusters().iloc[0]
    notes.set_note("a", "new note")
    after = notes.clusters().iloc[0]
    assert after["note"] == "new note"
    assert after["updated"] > before["updated"]
    assert after["created"] == before["created"]


def test_tags_replace_and_untag(notes):
    notes.tag(4, "interesting")
    notes.tag([5, 6], "boring", note="artefact")
    notes.tag(4, "boring")
    table = notes.tags()
    assert dict(zip(table["source_id"], table["tag"], strict=True)) == {
        4: "boring",
        5: "boring",
        6: "boring",
    }
    assert notes.tags("interesting").empty
    assert notes.untag([5, 99]) == 1
    assert notes.tag_of([4, 5]).tolist() == ["boring", ""]
    with pytest.raises(DataError, match="not one of"):
        notes.tag(1, "cool")


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
