"""Per-source tags: one current ``interesting`` or ``boring`` mark each."""

from __future__ import annotations

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


class TagAnnotations(AnnotationsDatabase):
    """The ``tags`` table of an annotations database."""

    def tag(self, source_id: int | Iterable[int], tag: str, note: str = "") -> None:
        """Tag one or more sources ``"interesting"`` or ``"boring"``.

        A source has one current tag: tagging again replaces it.

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
            con.executemany(
                "INSERT INTO tags(source_id, tag, created, note) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(source_id) DO UPDATE SET tag = excluded.tag, "
                "created = excluded.created, note = excluded.note",
                ((int(s), tag, stamp, note or "") for s in ids),
            )

    def untag(self, source_id: int | Iterable[int]) -> int:
        """Remove the tag of one or more sources; returns how many had one."""
        ids = clean_ids([source_id] if np.isscalar(source_id) else source_id, "untag")
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
