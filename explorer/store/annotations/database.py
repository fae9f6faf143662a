"""The annotations database file: schema, connections and transactions.

The database (``store/annotations.sqlite``) is shared by every dashboard
session, the CLI and background jobs, possibly in several processes at once.
It therefore runs in WAL mode (readers never block the writer), every
connection waits up to :data:`BUSY_TIMEOUT_S` for a lock instead of failing,
and each call opens its own short-lived connection, so one object can be
shared freely between threads.

Schema (version :data:`SCHEMA_VERSION`)::

    schema(version)                                   one row
    meta(key PRIMARY KEY, value)                      'revision' counter
    clusters(id, name UNIQUE, note, created, updated, version,
             geometry, checkpoint_sha256, settings)
    members(cluster_id -> clusters.id ON DELETE CASCADE, source_id)
    tags(source_id PRIMARY KEY, tag, created, note)   one current tag per source
    label_actions(id, at)                             one per tag/untag call
    label_log(action_id -> label_actions.id, source_id,
              before_tag, before_created, before_note, after_tag)
    similar_marks(query_id, id, sign, version, at)    Similar-tab +/- pairs

Timestamps are ISO 8601 UTC strings. ``clusters.version`` records the
embedding version the selection was made on; ``geometry`` (lasso polygon or
box in map coordinates) and ``settings`` (colour/score settings) are JSON
text, ``checkpoint_sha256`` the encoder of that version (all NULL for a
cluster saved without provenance). ``label_log`` holds what each tag call
replaced, so the last one can be undone. Files of schema version 1 are
migrated in place when opened (:mod:`~explorer.store.annotations.migrate`).
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import logging
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from explorer.errors import StoreError
from explorer.store.annotations import migrate

log = logging.getLogger(__name__)

SCHEMA_VERSION = 2
#: Seconds a connection waits for another writer before giving up.
BUSY_TIMEOUT_S = 30.0
#: The tags a source can carry (one at a time); ``artefact`` since schema 2.
TAGS = ("interesting", "boring", "artefact")
#: The tags table, spelled once: :mod:`migrate` re-creates it from this.
TAGS_TABLE = f"""
CREATE TABLE IF NOT EXISTS tags (
    source_id INTEGER PRIMARY KEY,
    tag TEXT NOT NULL CHECK (tag IN ({", ".join(repr(t) for t in TAGS)})),
    created TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT ''
)"""

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS schema (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS clusters (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    note TEXT NOT NULL DEFAULT '',
    created TEXT NOT NULL,
    updated TEXT NOT NULL,
    version TEXT,
    geometry TEXT,
    checkpoint_sha256 TEXT,
    settings TEXT
);
CREATE TABLE IF NOT EXISTS members (
    cluster_id INTEGER NOT NULL REFERENCES clusters(id) ON DELETE CASCADE,
    source_id INTEGER NOT NULL,
    PRIMARY KEY (cluster_id, source_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS members_by_source ON members(source_id);
{TAGS_TABLE};
CREATE TABLE IF NOT EXISTS label_actions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS label_log (
    action_id INTEGER NOT NULL REFERENCES label_actions(id) ON DELETE CASCADE,
    source_id INTEGER NOT NULL,
    before_tag TEXT,
    before_created TEXT,
    before_note TEXT,
    after_tag TEXT,
    PRIMARY KEY (action_id, source_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS similar_marks (
    query_id INTEGER NOT NULL,
    id INTEGER NOT NULL,
    sign INTEGER NOT NULL CHECK (sign IN (-1, 1)),
    version TEXT NOT NULL DEFAULT '',
    at TEXT NOT NULL,
    PRIMARY KEY (query_id, id, version)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS similar_marks_by_version ON similar_marks(version);
"""


def now() -> str:
    """The current UTC time, ISO 8601 with milliseconds."""
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="milliseconds")


class AnnotationsDatabase:
    """An annotations SQLite file: opened, schema checked, one connection a call.

    Parameters
    ----------
    path : path-like
        The database file; created with its parent directory if missing.

    Raises
    ------
    StoreError
        If the file is not an SQLite database or was written by a newer
        schema version.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._init_schema()

    def _connect(self) -> sqlite3.Connection:
        try:
            con = sqlite3.connect(
                self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None
            )
            con.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
            con.execute("PRAGMA foreign_keys = ON")
        except sqlite3.DatabaseError as exc:
            msg = f"cannot open annotations database {self.path}: {exc}"
            raise StoreError(msg) from exc
        return con

    @contextlib.contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        con = self._connect()
        try:
            yield con
        except sqlite3.DatabaseError as exc:
            msg = f"annotations database {self.path}: {exc}"
            raise StoreError(msg) from exc
        finally:
            con.close()

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction; ``BEGIN IMMEDIATE`` takes the write lock up front.

        Taking it at the start (rather than on the first write) means two
        writers queue on the busy timeout instead of one failing with
        "database is locked" when it tries to upgrade a read lock.
        """
        con = self._connect()
        try:
            con.execute("BEGIN IMMEDIATE")
            try:
                yield con
                con.execute(
                    "INSERT INTO meta(key, value) VALUES('revision', 1) "
                    "ON CONFLICT(key) DO UPDATE SET value = value + 1"
                )
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
        except sqlite3.DatabaseError as exc:
            msg = f"annotations database {self.path}: {exc}"
            raise StoreError(msg) from exc
        finally:
            con.close()

    def _init_schema(self) -> None:
        con = self._connect()
        try:
            # WAL is a property of the file: set once, every later connection
            # (any process) uses it.
            mode = con.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                log.warning("%s: journal mode is %s, not WAL", self.path, mode)
            con.execute("BEGIN IMMEDIATE")
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    con.execute(statement)
            row = con.execute("SELECT version FROM schema").fetchone()
            if row is None:
                con.execute("INSERT INTO schema(version) VALUES (?)", (SCHEMA_VERSION,))
            elif row[0] < SCHEMA_VERSION:
                migrate.upgrade(con, int(row[0]), TAGS_TABLE)
                con.execute("UPDATE schema SET version = ?", (SCHEMA_VERSION,))
                log.info(
                    "%s: migrated annotations schema %d -> %d",
                    self.path,
                    row[0],
                    SCHEMA_VERSION,
                )
            elif row[0] > SCHEMA_VERSION:
                con.execute("ROLLBACK")
                msg = (
                    f"annotations database {self.path} has schema version {row[0]}, "
                    f"newer than the {SCHEMA_VERSION} this latentsky reads: upgrade"
                )
                raise StoreError(msg)
            con.execute("COMMIT")
        except sqlite3.DatabaseError as exc:
            msg = f"{self.path} is not a usable annotations database: {exc}"
            raise StoreError(msg) from exc
        finally:
            con.close()

    def revision(self) -> int:
        """A counter bumped by every write, from any process.

        A dashboard session polls it to notice clusters or tags changed by
        another session without re-reading everything.
        """
        with self._read() as con:
            row = con.execute(
                "SELECT value FROM meta WHERE key = 'revision'"
            ).fetchone()
        return int(row[0]) if row else 0
