"""Similar-tab feedback: ``+`` / ``-`` marks stored as (query, source) pairs.

A mark says "for query ``query_id``, source ``id`` is (+1) / is not (-1) a
good match" in embedding ``version``. Pairs, not per-source tags, because
similarity depends on the query: the same source can be a good match for one
query and a bad one for another. They are the raw material for fine-tuning
(positive and negative pairs) and for Rocchio refinement.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from explorer.errors import DataError
from explorer.store.annotations.database import AnnotationsDatabase, now

SIGNS = (-1, 1)


def _check_pair(query_id: object, source_id: object, sign: object) -> tuple:
    for name, value in (("query_id", query_id), ("id", source_id)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer):
            msg = f"similar mark: {name} must be an integer, got {value!r}"
            raise DataError(msg)
    if isinstance(sign, bool) or sign not in SIGNS:
        msg = f"similar mark: sign must be +1 or -1, got {sign!r}"
        raise DataError(msg)
    if int(query_id) == int(source_id):
        msg = f"similar mark: source {source_id} cannot be marked against itself"
        raise DataError(msg)
    return int(query_id), int(source_id), int(sign)


class SimilarMarkAnnotations(AnnotationsDatabase):
    """The ``similar_marks`` table of an annotations database."""

    def add_similar_mark(
        self, query_id: int, id: int, sign: int, version: str | None = None
    ) -> None:
        """Mark source ``id`` as a good (+1) or bad (-1) match for ``query_id``.

        Marking the same pair again (same version) replaces its sign.

        Parameters
        ----------
        query_id : int
            The source the Similar search started from.
        id : int
            The result being marked.
        sign : {+1, -1}
            Good or bad match.
        version : str, optional
            The embedding version the results came from ("" when unknown).

        Raises
        ------
        DataError
            If an id is not an integer, the sign is not +/-1, or both ids are
            the same source.
        """
        query_id, id, sign = _check_pair(query_id, id, sign)
        with self._write() as con:
            con.execute(
                "INSERT INTO similar_marks(query_id, id, sign, version, at) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT(query_id, id, version) "
                "DO UPDATE SET sign = excluded.sign, at = excluded.at",
                (query_id, id, sign, version or "", now()),
            )

    def remove_similar_mark(
        self, query_id: int, id: int, version: str | None = None
    ) -> bool:
        """Remove the mark of one pair; True when there was one."""
        query_id, id, _ = _check_pair(query_id, id, 1)
        with self._write() as con:
            cur = con.execute(
                "DELETE FROM similar_marks WHERE query_id = ? AND id = ? "
                "AND version = ?",
                (query_id, id, version or ""),
            )
            return cur.rowcount > 0

    def similar_marks(
        self, query_id: int | None = None, version: str | None = None
    ) -> pd.DataFrame:
        """Stored marks, oldest first.

        Parameters
        ----------
        query_id : int, optional
            Only the marks of this query.
        version : str, optional
            Only the marks made on this version.

        Returns
        -------
        DataFrame
            ``query_id``, ``id``, ``sign`` (int64), ``version`` (str, "" when
            unknown), ``at`` (ISO UTC).
        """
        clauses, params = [], []
        if query_id is not None:
            clauses.append("query_id = ?")
            params.append(int(query_id))
        if version is not None:
            clauses.append("version = ?")
            params.append(version)
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        with self._read() as con:
            rows = con.execute(
                "SELECT query_id, id, sign, version, at FROM similar_marks"
                f"{where} ORDER BY at, query_id, id",
                params,
            ).fetchall()
        frame = pd.DataFrame(rows, columns=["query_id", "id", "sign", "version", "at"])
        for column in ("query_id", "id", "sign"):
            frame[column] = frame[column].astype(np.int64)
        return frame
