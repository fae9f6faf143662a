"""Tests of explorer.store.annotations.migrate: schema-1 files open in place."""

from __future__ import annotations

import sqlite3

import pytest

from explorer.errors import DataError
from explorer.store.annotations import SCHEMA_VERSION, Annotations

#: The schema-1 file as latentsky wrote it before artefact tags and provenance.
SCHEMA_1 = """
CREATE TABLE schema (version INTEGER NOT NULL);
CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE clusters (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    note TEXT NOT NULL DEFAULT '',
    created TEXT NOT NULL,
    updated TEXT NOT NULL,
    version TEXT
);
CREATE TABLE members (
    cluster_id INTEGER NOT NULL REFERENCES clusters(id) ON DELETE CASCADE,
    source_id INTEGER NOT NULL,
    PRIMARY KEY (cluster_id, source_id)
) WITHOUT ROWID;
CREATE INDEX members_by_source ON members(source_id);
CREATE TABLE tags (
    source_id INTEGER PRIMARY KEY,
    tag TEXT NOT NULL CHECK (tag IN ('interesting', 'boring')),
    created TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT ''
);
INSERT INTO schema(version) VALUES (1);
INSERT INTO meta(key, value) VALUES ('revision', 7);
INSERT INTO clusters(name, note, created, updated, version)
    VALUES ('rings', 'ring galaxies', '2026-01-01T00:00:00',
            '2026-01-01T00:00:00', 'v1');
INSERT INTO members(cluster_id, source_id) VALUES (1, 3), (1, 9);
INSERT INTO tags(source_id, tag, created, note)
    VALUES (3, 'interesting', '2026-01-02T00:00:00', 'nice'),
           (5, 'boring', '2026-01-03T00:00:00', '');
"""


@pytest.fixture
def old_file(tmp_path):
    path = tmp_path / "annotations.sqlite"
    con = sqlite3.connect(path)
    con.executescript(SCHEMA_1)
    con.commit()
    con.close()
    return path


def test_schema_1_file_is_migrated_and_keeps_everything(old_file):
    notes = Annotations(old_file)
    con = sqlite3.connect(old_file)
    assert con.execute("SELECT version FROM schema").fetchall() == [(SCHEMA_VERSION,)]
    assert SCHEMA_VERSION == 2
    con.close()
    tags = notes.tags()
    assert tags["source_id"].tolist() == [3, 5]
    assert tags["tag"].tolist() == ["interesting", "boring"]
    assert tags["note"].tolist() == ["nice", ""]
    assert tags["created"].tolist() == ["2026-01-02T00:00:00", "2026-01-03T00:00:00"]
    assert notes.members("rings").tolist() == [3, 9]
    assert notes.cluster_note("rings") == "ring galaxies"
    old = notes.cluster_provenance("rings")
    assert (old.version, old.geometry, old.checkpoint_sha256) == ("v1", None, None)
    assert notes.revision() == 7


def test_migrated_file_takes_the_new_features(old_file):
    Annotations(old_file)
    notes = Annotations(old_file)  # a second open must not migrate again
    notes.tag(5, "artefact")
    assert notes.tag_of([3, 5]).tolist() == ["interesting", "artefact"]
    assert notes.undo_last_label()["restored"].tolist() == ["boring"]
    notes.add_similar_mark(3, 9, -1, "v1")
    assert notes.similar_marks()["sign"].tolist() == [-1]
    with pytest.raises(DataError, match="not one of"):
        notes.tag(5, "cool")
