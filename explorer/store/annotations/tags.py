"""Per-source tags: one current ``interesting``, ``boring`` or ``artefact`` mark.

Every :meth:`~TagAnnotations.tag` / :meth:`~TagAnnotations.untag` call is one
*label action*: what it replaced is logged in ``label_log``, so
:meth:`~TagAnnotations.undo_last_label` can put the previous tags back, one
call at a time, newest first, from any session or process.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

import numpy as np
import pandas as pd

from explorer.errors import DataError
from explorer.store.annotations.database import TAGS, AnnotationsDatabase, now
from explorer.store.annotations.validate import clean_ids


def _check_tag(tag: str) -> None:
    if tag not in TAGS:
        msg = f"tag {tag!r} is not one of {TAGS}"
        raise DataError(msg)


_CHUNK = 500


def _log_action(
    con: sqlite3.Connection, ids: np.ndarray, after: str | None, stamp: str
) -> None:
    """Record what the tags of ``ids`` were before this call sets them."""
    action = int(
        con.execute("INSERT INTO label_actions(at) VALUES (?)", (stamp,)).lastrowid
    )
    before: dict[int, tuple] = {}
    # chunks stay under SQLite's bound-parameter limit for big selections
    for start in range(0, len(ids), _CHUNK):
        chunk = [int(s) for s in ids[start : start + _CHUNK]]
        query = (
            "SELECT source_id, tag, created, note FROM tags WHERE source_id IN "
            f"({','.join('?' * len(chunk))})"
        )
        before.update({int(r[0]): r[1:] for r in con.execute(query, chunk)})
    con.executemany(
        "INSERT INTO label_log(action_id, source_id, before_tag, before_created, "
        "before_note, after_tag) VALUES (?, ?, ?, ?, ?, ?)",
        ((action, int(s), *before.get(int(s), (None, None, None)), after) for s in ids),
    )


class TagAnnotations(AnnotationsDatabase):
    """The ``tags`` table of an annotations database."""

    def tag(self, source_id: int | Iterable[int], tag: str, note: str = "") -> None:
        """Tag one or more sources ``"interesting"``, ``"boring"`` or ``"artefact"``.

        A source has one current tag: tagging again replaces it. The call is
        one undoable label action.

        Raises
        ------
        DataError
            If ``tag`` is not one of :data:`TAGS` or no id is given.
        """
        _check_tag(tag)
        ids = clean_ids(
            [source_id] if np.isscalar(source_id) else source_id, f"tag {tag!r}"
        )
        stamp = now()
        with self._write() as con:
            _log_action(con, ids, tag, stamp)
            con.executemany(
                "INSERT INTO tags(source_id, tag, created, note) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(source_id) DO UPDATE SET tag = excluded.tag, "
                "created = excluded.created, note = excluded.note",
                ((int(s), tag, stamp, note or "") for s in ids),
            )

    def untag(self, source_id: int | Iterable[int]) -> int:
        """Remove the tag of one or more sources; returns how many had one.

        The call is one undoable label action.
        """
        ids = clean_ids([source_id] if np.isscalar(source_id) else source_id, "untag")
        with self._write() as con:
            _log_action(con, ids, None, now())
            cur = con.executemany(
                "DELETE FROM tags WHERE source_id = ?", ((int(s),) for s in ids)
            )
            return int(cur.rowcount)

    def undo_last_label(self) -> pd.DataFrame:
        """Undo the newest tag/untag call: put back the tags it replaced.

        Calling again undoes the call before it, and so on.

        Returns
        -------
        DataFrame
            One row per source of the undone call: ``source_id`` (int64),
            ``undone`` (the tag it had set, "" for an untag) and ``restored``
            (the tag it has again, "" when it had none); empty when there is
            nothing left to undo.
        """
        with self._write() as con:
            row = con.execute("SELECT MAX(id) FROM label_actions").fetchone()
            rows = []
            if row[0] is not None:
                rows = con.execute(
                    "SELECT source_id, before_tag, before_created, before_note, "
                    "after_tag FROM label_log WHERE action_id = ? ORDER BY source_id",
                    (row[0],),
                ).fetchall()
                for source_id, tag, created, note, _ in rows:
                    con.execute("DELETE FROM tags WHERE source_id = ?", (source_id,))
                    if tag is not None:
                        con.execute(
                            "INSERT INTO tags(source_id, tag, created, note) "
                            "VALUES (?, ?, ?, ?)",
                            (source_id, tag, created, note),
                        )
                con.execute("DELETE FROM label_actions WHERE id = ?", (row[0],))
        frame = pd.DataFrame(
            {
                "source_id": np.array([r[0] for r in rows], dtype=np.int64),
                "undone": [r[4] or "" for r in rows],
                "restored": [r[1] or "" for r in rows],
            }
        )
        return frame

    def label_history(self) -> pd.DataFrame:
        """The undoable label actions, oldest first.

        Returns
        -------
        DataFrame
            ``action`` (int64), ``at`` (ISO UTC), ``source_id`` (int64),
            ``tag`` (what the action set, "" for an untag), ``before`` ("" when
            untagged).
        """
        with self._read() as con:
            rows = con.execute(
                "SELECT a.id, a.at, l.source_id, l.after_tag, l.before_tag "
                "FROM label_actions a JOIN label_log l ON l.action_id = a.id "
                "ORDER BY a.id, l.source_id"
            ).fetchall()
        frame = pd.DataFrame(
            rows, columns=["action", "at", "source_id", "tag", "before"]
        )
        frame[["tag", "before"]] = frame[["tag", "before"]].fillna("")
        for column in ("action", "source_id"):
            frame[column] = frame[column].astype(np.int64)
        return frame

    def has_tags(self) -> bool:
        """Whether any source carries a tag (one indexed lookup, not the table)."""
        with self._read() as con:
            return bool(con.execute("SELECT EXISTS (SELECT 1 FROM tags)").fetchone()[0])

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
        if tag is not None:
            _check_tag(tag)
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
