"""Named clusters and per-source tags, persisted in the store's SQLite file.

The database (``store/annotations.sqlite``) is shared by every dashboard
session, the CLI and background jobs, possibly in several processes at once.
It therefore runs in WAL mode (readers never block the writer), every
connection waits up to :data:`BUSY_TIMEOUT_S` for a lock instead of failing,
and each call opens its own short-lived connection, so an
:class:`Annotations` object can be shared freely between threads.

Schema (version :data:`SCHEMA_VERSION`)::

    schema(version)                                   one row
    meta(key PRIMARY KEY, value)                      'revision' counter
    clusters(id, name UNIQUE, note, created, updated, version)
    members(cluster_id -> clusters.id ON DELETE CASCADE, source_id)
    tags(source_id PRIMARY KEY, tag, created, note)   one current tag per source

Timestamps are ISO 8601 UTC strings. ``clusters.version`` records the
embedding version the selection was made on (informational).
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import logging
import os
import sqlite3
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from explorer.errors import DataError, StoreError

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
#: Seconds a connection waits for another writer before giving up.
BUSY_TIMEOUT_S = 30.0
#: The tags a source can carry (one at a time).
TAGS = ("interesting", "boring")
MAX_NAME_LENGTH = 200

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS schema (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS clusters (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    note TEXT NOT NULL DEFAULT '',
    created TEXT NOT NULL,
    updated TEXT NOT NULL,
    version TEXT
);
CREATE TABLE IF NOT EXISTS members (
    cluster_id INTEGER NOT NULL REFERENCES clusters(id) ON DELETE CASCADE,
    source_id INTEGER NOT NULL,
    PRIMARY KEY (cluster_id, source_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS members_by_source ON members(source_id);
CREATE TABLE IF NOT EXISTS tags (
    source_id INTEGER PRIMARY KEY,
    tag TEXT NOT NULL CHECK (tag IN ({", ".join(repr(t) for t in TAGS)})),
    created TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT ''
);
"""


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="milliseconds")


class Annotations:
    """Named clusters of sources and interesting/boring tags, in SQLite.

    Parameters
    ----------
    path : path-like
        The database file (usually ``store.annotations_path``); created with
        its parent directory if missing.

    Raises
    ------
    StoreError
        If the file is not an SQLite database or was written by a newer
        schema version.

    Examples
    --------
    >>> notes = Annotations(store.annotations_path)  # doctest: +SKIP
    >>> notes.save_cluster("rings", [12, 40], note="ring galaxies")  # doctest: +SKIP
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._init_schema()

    @classmethod
    def of_store(cls, store) -> Annotations:  # store: explorer.store.Store
        """The annotations database of ``store``."""
        return cls(store.annotations_path)

    # ------------------------------------------------------------ plumbing
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

    @staticmethod
    def _clean_name(name: str) -> str:
        if not isinstance(name, str):
            msg = f"cluster name must be a string, got {type(name).__name__}"
            raise DataError(msg)
        clean = name.strip()
        if not clean:
            raise DataError("cluster name is empty: give the cluster a name")
        if len(clean) > MAX_NAME_LENGTH:
            msg = (
                f"cluster name {clean[:40]!r}... is longer than "
                f"{MAX_NAME_LENGTH} characters"
            )
            raise DataError(msg)
        return clean

    @staticmethod
    def _clean_ids(ids: Iterable[int] | np.ndarray, what: str) -> np.ndarray:
        arr = np.asarray(list(ids) if not isinstance(ids, np.ndarray) else ids)
        arr = np.atleast_1d(arr)
        if arr.size == 0:
            msg = f"{what}: the selection is empty (select at least one source)"
            raise DataError(msg)
        if arr.dtype.kind not in "iu":
            if (
                arr.dtype.kind == "f"
                and np.all(np.isfinite(arr))
                and np.all(arr == np.round(arr))
            ):
                arr = arr.astype(np.int64)
            else:
                msg = f"{what}: source ids must be integers, got dtype {arr.dtype}"
                raise DataError(msg)
        return np.unique(arr.astype(np.int64))

    @staticmethod
    def _cluster_id(con: sqlite3.Connection, name: str) -> int:
        row = con.execute("SELECT id FROM clusters WHERE name = ?", (name,)).fetchone()
        if row is None:
            known = [
                r[0] for r in con.execute("SELECT name FROM clusters ORDER BY name")
            ]
            shown = ", ".join(repr(n) for n in known[:10]) or "none"
            msg = f"no saved cluster named {name!r} (clusters: {shown})"
            raise DataError(msg)
        return int(row[0])

    # ------------------------------------------------------------ clusters
    def save_cluster(
        self,
        name: str,
        ids: Iterable[int] | np.ndarray,
        note: str = "",
        version: str | None = None,
        overwrite: bool = False,
    ) -> int:
        """Save a selection of sources as a named cluster.

        Parameters
        ----------
        name : str
            Unique cluster name (surrounding whitespace is stripped).
        ids : array-like of int
            Source ids, ``(n,)``; duplicates are dropped.
        note : str
            Free-text note.
        version : str, optional
            Embedding version the selection was made on.
        overwrite : bool
            Replace the members and note of an existing cluster of that name
            (its creation time is kept).

        Returns
        -------
        int
            The cluster's database id.

        Raises
        ------
        DataError
            If the name is empty, the selection is empty or not integer, or a
            cluster of that name exists and ``overwrite`` is False.
        """
        name = self._clean_name(name)
        members = self._clean_ids(ids, f"cluster {name!r}")
        now = _now()
        with self._write() as con:
            row = con.execute(
                "SELECT id FROM clusters WHERE name = ?", (name,)
            ).fetchone()
            if row is not None:
                if not overwrite:
                    msg = (
                        f"a cluster named {name!r} already exists "
                        "(choose another name or overwrite it)"
                    )
                    raise DataError(msg)
                cluster_id = int(row[0])
                con.execute(
                    "UPDATE clusters SET note = ?, updated = ?, version = ? "
                    "WHERE id = ?",
                    (note or "", now, version, cluster_id),
                )
                con.execute("DELETE FROM members WHERE cluster_id = ?", (cluster_id,))
            else:
                cur = con.execute(
                    "INSERT INTO clusters(name, note, created, updated, version) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (name, note or "", now, now, version),
                )
                cluster_id = int(cur.lastrowid)
            con.executemany(
                "INSERT INTO members(cluster_id, source_id) VALUES (?, ?)",
                ((cluster_id, int(s)) for s in members),
            )
        log.info("saved cluster %r with %d sources", name, members.size)
        return cluster_id

    def clusters(self) -> pd.DataFrame:
        """All saved clusters, oldest first.

        Returns
        -------
        DataFrame
            Columns ``name``, ``note``, ``n_members`` (int64), ``created``,
            ``updated`` (ISO UTC strings), ``version`` (str or None).
        """
        with self._read() as con:
            rows = con.execute(
                "SELECT c.name, c.note, COUNT(m.source_id), c.created, c.updated, "
                "c.version "
                "FROM clusters c LEFT JOIN members m ON m.cluster_id = c.id "
                "GROUP BY c.id ORDER BY c.created, c.id"
            ).fetchall()
        frame = pd.DataFrame(
            rows, columns=["name", "note", "n_members", "created", "updated", "version"]
        )
        frame["n_members"] = frame["n_members"].astype(np.int64)
        return frame

    def names(self) -> list[str]:
        """Names of the saved clusters, oldest first."""
        return self.clusters()["name"].tolist()

    def members(self, name: str) -> np.ndarray:
        """Source ids of cluster ``name``, sorted, ``(n,)`` int64.

        Raises
        ------
        DataError
            If there is no cluster of that name.
        """
        name = self._clean_name(name)
        with self._read() as con:
            cluster_id = self._cluster_id(con, name)
            rows = con.execute(
                "SELECT source_id FROM members WHERE cluster_id = ? ORDER BY source_id",
                (cluster_id,),
            ).fetchall()
        return np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))

    def cluster_note(self, name: str) -> str:
        """The note of cluster ``name``."""
        name = self._clean_name(name)
        with self._read() as con:
            cluster_id = self._cluster_id(con, name)
            row = con.execute("SELECT note FROM clusters WHERE id = ?", (cluster_id,))
            return str(row.fetchone()[0])

    def rename(self, old: str, new: str) -> None:
        """Rename cluster ``old`` to ``new`` (members and note are kept).

        Raises
        ------
        DataError
            If ``old`` does not exist, ``new`` is empty or already taken.
        """
        old, new = self._clean_name(old), self._clean_name(new)
        with self._write() as con:
            cluster_id = self._cluster_id(con, old)
            if new == old:
                return
            if con.execute("SELECT 1 FROM clusters WHERE name = ?", (new,)).fetchone():
                msg = (
                    f"cannot rename {old!r} to {new!r}: "
                    f"a cluster named {new!r} already exists"
                )
                raise DataError(msg)
            con.execute(
                "UPDATE clusters SET name = ?, updated = ? WHERE id = ?",
                (new, _now(), cluster_id),
            )

    def delete(self, name: str) -> None:
        """Delete cluster ``name`` and its membership list.

        Raises
        ------
        DataError
            If there is no cluster of that name.
        """
        name = self._clean_name(name)
        with self._write() as con:
            cluster_id = self._cluster_id(con, name)
            con.execute("DELETE FROM clusters WHERE id = ?", (cluster_id,))

    def set_note(self, name: str, note: str) -> None:
        """Replace the note of cluster ``name``."""
        name = self._clean_name(name)
        with self._write() as con:
            cluster_id = self._cluster_id(con, name)
            con.execute(
                "UPDATE clusters SET note = ?, updated = ? WHERE id = ?",
                (note or "", _now(), cluster_id),
            )

    def clusters_of(self, ids: Iterable[int] | np.ndarray) -> pd.Series:
        """Saved-cluster names of each source, ``;``-joined ("" when none).

        Parameters
        ----------
        ids : array-like of int
            ``(n,)`` source ids.

        Returns
        -------
        Series
            Indexed by source id (input order), values str.
        """
        arr = np.atleast_1d(np.asarray(ids, dtype=np.int64))
        with self._read() as con:
            rows = con.execute(
                "SELECT m.source_id, c.name FROM members m JOIN clusters c "
                "ON c.id = m.cluster_id ORDER BY c.created, c.id"
            ).fetchall()
        names: dict[int, list[str]] = {}
        for source_id, cluster_name in rows:
            names.setdefault(int(source_id), []).append(cluster_name)
        return pd.Series(
            [";".join(names.get(int(i), [])) for i in arr], index=arr, dtype=object
        )

    # ---------------------------------------------------------------- tags
    def tag(self, source_id: int | Iterable[int], tag: str, note: str = "") -> None:
        """Tag one or more sources ``"interesting"`` or ``"boring"``.

        A source has one current tag: tagging again replaces it.

        Raises
        ------
        DataError
            If ``tag`` is not one of :data:`TAGS` or no id is given.
        """
        if tag not in TAGS:
            msg = f"tag {tag!r} is not one of {TAGS}"
            raise DataError(msg)
        ids = self._clean_ids(
            [source_id] if np.isscalar(source_id) else source_id, f"tag {tag!r}"
        )
        now = _now()
        with self._write() as con:
            con.executemany(
                "INSERT INTO tags(source_id, tag, created, note) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(source_id) DO UPDATE SET tag = excluded.tag, "
                "created = excluded.created, note = excluded.note",
                ((int(s), tag, now, note or "") for s in ids),
            )

    def untag(self, source_id: int | Iterable[int]) -> int:
        """Remove the tag of one or more sources; returns how many had one."""
        ids = self._clean_ids(
            [source_id] if np.isscalar(source_id) else source_id, "untag"
        )
        with self._write() as con:
            cur = con.executemany(
                "DELETE FROM tags WHERE source_id = ?", ((int(s),) for s in ids)
            )
            return int(cur.rowcount)

    def tags(self, tag: str | None = None) -> pd.DataFrame:
        """Current tags, oldest first.

        Parameters
        ----------
        tag : str, optional
            Only this tag.

        Returns
        -------
        DataFrame
            Columns ``source_id`` (int64), ``tag``, ``created``, ``note``.
        """
        if tag is not None and tag not in TAGS:
            msg = f"tag {tag!r} is not one of {TAGS}"
            raise DataError(msg)
        query = "SELECT source_id, tag, created, note FROM tags"
        params: tuple = ()
        if tag is not None:
            query += " WHERE tag = ?"
            params = (tag,)
        with self._read() as con:
            rows = con.execute(
                query + " ORDER BY created, source_id", params
            ).fetchall()
        frame = pd.DataFrame(rows, columns=["source_id", "tag", "created", "note"])
        frame["source_id"] = frame["source_id"].astype(np.int64)
        return frame

    def tag_of(self, ids: Iterable[int] | np.ndarray) -> pd.Series:
        """The tag of each source ("" when untagged), indexed by id in input order."""
        arr = np.atleast_1d(np.asarray(ids, dtype=np.int64))
        current = self.tags()
        lookup = dict(
            zip(current["source_id"].tolist(), current["tag"].tolist(), strict=True)
        )
        return pd.Series([lookup.get(int(i), "") for i in arr], index=arr, dtype=object)

    # ------------------------------------------------------------- revision
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
