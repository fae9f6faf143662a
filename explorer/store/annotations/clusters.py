"""Named clusters: saved selections of sources with a note."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterable

import numpy as np
import pandas as pd

from explorer.errors import DataError
from explorer.store.annotations.database import AnnotationsDatabase, now
from explorer.store.annotations.provenance import ClusterProvenance
from explorer.store.annotations.validate import clean_ids, clean_name

log = logging.getLogger(__name__)


def _cluster_id(con: sqlite3.Connection, name: str) -> int:
    row = con.execute("SELECT id FROM clusters WHERE name = ?", (name,)).fetchone()
    if row is None:
        known = [r[0] for r in con.execute("SELECT name FROM clusters ORDER BY name")]
        shown = ", ".join(repr(n) for n in known[:10]) or "none"
        msg = f"no saved cluster named {name!r} (clusters: {shown})"
        raise DataError(msg)
    return int(row[0])


class ClusterAnnotations(AnnotationsDatabase):
    """The ``clusters`` and ``members`` tables of an annotations database."""

    def save_cluster(
        self,
        name: str,
        ids: Iterable[int] | np.ndarray,
        note: str = "",
        version: str | None = None,
        overwrite: bool = False,
        provenance: ClusterProvenance | None = None,
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
        provenance : ClusterProvenance, optional
            How the selection was made; its ``version`` is used when
            ``version`` is not given.

        Returns
        -------
        int
            The cluster's database id.

        Raises
        ------
        DataError
            If the name is empty, the selection is empty or not integer, a
            cluster of that name exists and ``overwrite`` is False, or the
            provenance geometry is malformed.
        """
        name = clean_name(name)
        members = clean_ids(ids, f"cluster {name!r}")
        provenance = provenance or ClusterProvenance()
        version = version if version is not None else provenance.version
        extra = provenance.columns()
        stamp = now()
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
                    "UPDATE clusters SET note = ?, updated = ?, version = ?, "
                    "geometry = ?, checkpoint_sha256 = ?, settings = ? WHERE id = ?",
                    (note or "", stamp, version, *extra, cluster_id),
                )
                con.execute("DELETE FROM members WHERE cluster_id = ?", (cluster_id,))
            else:
                cur = con.execute(
                    "INSERT INTO clusters(name, note, created, updated, version, "
                    "geometry, checkpoint_sha256, settings) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (name, note or "", stamp, stamp, version, *extra),
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
        name = clean_name(name)
        with self._read() as con:
            cluster_id = _cluster_id(con, name)
            rows = con.execute(
                "SELECT source_id FROM members WHERE cluster_id = ? ORDER BY source_id",
                (cluster_id,),
            ).fetchall()
        return np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))

    def cluster_provenance(self, name: str) -> ClusterProvenance:
        """How cluster ``name`` was made (empty fields for an older cluster).

        Raises
        ------
        DataError
            If there is no cluster of that name.
        """
        name = clean_name(name)
        with self._read() as con:
            cluster_id = _cluster_id(con, name)
            row = con.execute(
                "SELECT version, geometry, checkpoint_sha256, settings "
                "FROM clusters WHERE id = ?",
                (cluster_id,),
            ).fetchone()
        return ClusterProvenance.from_columns(*row)

    def cluster_note(self, name: str) -> str:
        """The note of cluster ``name``."""
        name = clean_name(name)
        with self._read() as con:
            cluster_id = _cluster_id(con, name)
            row = con.execute("SELECT note FROM clusters WHERE id = ?", (cluster_id,))
            return str(row.fetchone()[0])

    def rename(self, old: str, new: str) -> None:
        """Rename cluster ``old`` to ``new`` (members and note are kept).

        Raises
        ------
        DataError
            If ``old`` does not exist, ``new`` is empty or already taken.
        """
        old, new = clean_name(old), clean_name(new)
        with self._write() as con:
            cluster_id = _cluster_id(con, old)
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
                (new, now(), cluster_id),
            )

    def delete(self, name: str) -> None:
        """Delete cluster ``name`` and its membership list.

        Raises
        ------
        DataError
            If there is no cluster of that name.
        """
        name = clean_name(name)
        with self._write() as con:
            cluster_id = _cluster_id(con, name)
            con.execute("DELETE FROM clusters WHERE id = ?", (cluster_id,))

    def set_note(self, name: str, note: str) -> None:
        """Replace the note of cluster ``name``."""
        name = clean_name(name)
        with self._write() as con:
            cluster_id = _cluster_id(con, name)
            con.execute(
                "UPDATE clusters SET note = ?, updated = ? WHERE id = ?",
                (note or "", now(), cluster_id),
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
