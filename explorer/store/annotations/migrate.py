"""In-place upgrades of older annotations files to the current schema.

Each step runs inside the caller's ``BEGIN IMMEDIATE`` transaction, so a
second process opening the same file waits and then sees the upgraded file,
and a failed step leaves the old file untouched.

- 1 -> 2: the ``tags`` CHECK constraint gains ``artefact`` (SQLite cannot
  alter a constraint, so the table is re-created and its rows copied), and
  ``clusters`` gains the provenance columns ``geometry``,
  ``checkpoint_sha256`` and ``settings`` (NULL for old clusters). The new
  tables (``label_actions``, ``label_log``, ``similar_marks``) are created by
  the schema's ``CREATE TABLE IF NOT EXISTS`` before this runs.
"""

from __future__ import annotations

import sqlite3

#: Columns added to ``clusters`` by schema 2.
CLUSTER_PROVENANCE_COLUMNS = ("geometry", "checkpoint_sha256", "settings")


def _upgrade_1_to_2(con: sqlite3.Connection, tags_table: str) -> None:
    con.execute("ALTER TABLE tags RENAME TO tags_v1")
    con.execute(tags_table)
    con.execute(
        "INSERT INTO tags(source_id, tag, created, note) "
        "SELECT source_id, tag, created, note FROM tags_v1"
    )
    con.execute("DROP TABLE tags_v1")
    present = {row[1] for row in con.execute("PRAGMA table_info(clusters)")}
    for column in CLUSTER_PROVENANCE_COLUMNS:
        if column not in present:
            con.execute(f"ALTER TABLE clusters ADD COLUMN {column} TEXT")


def upgrade(con: sqlite3.Connection, version: int, tags_table: str) -> None:
    """Bring an open schema-``version`` database up to the current schema.

    Parameters
    ----------
    con : sqlite3.Connection
        Inside a write transaction.
    version : int
        The file's schema version (older than the current one).
    tags_table : str
        The current ``CREATE TABLE ... tags`` statement.
    """
    if version < 2:
        _upgrade_1_to_2(con, tags_table)
