"""Tests of explorer.store.annotations.clusters: saved clusters in SQLite."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest

from explorer.errors import DataError


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
