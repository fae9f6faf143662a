"""A relevance model over one store version, kept in step with its tags.

:class:`Hunt` reads the version's memory-mapped ``embeddings.npy`` and
``map.parquet`` ``anomaly_score`` once; :meth:`Hunt.sync` then brings the
model up to date with the annotations database after each click -- only the
tags that changed since the last sync cost anything, so an undo in another
session, or a label given from the CLI, shows up at the next sync.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from explorer.active.acquisition import acquisition_order
from explorer.active.relevance import LABEL_VALUES, RelevanceModel
from explorer.errors import DataError

if TYPE_CHECKING:
    from explorer.store import Store
    from explorer.store.annotations import Annotations

log = logging.getLogger(__name__)


class Hunt:
    """Active hunting over one version: ids, the model, and the synced tags.

    Parameters
    ----------
    ids : ndarray
        ``(N,)`` int64 source ids, one per embedding row.
    model : RelevanceModel
        Fitted on that version's embedding and anomaly score.
    """

    def __init__(self, ids: np.ndarray, model: RelevanceModel) -> None:
        self.ids = np.asarray(ids, dtype=np.int64)
        self.model = model
        self._sorter = np.argsort(self.ids, kind="stable")
        self._synced: dict[int, str] = {}

    @classmethod
    def from_store(
        cls, store: Store, version: str | None = None, **settings: float
    ) -> Hunt:
        """The hunt over ``version`` (default current) of ``store``.

        Parameters
        ----------
        store : Store
            An analysed store (``map.parquet`` with ``anomaly_score``).
        version : str, optional
            Embedding version.
        **settings
            :class:`RelevanceModel` settings.

        Raises
        ------
        StoreError
            If the version has no embeddings or map.
        DataError
            If the map lacks ``anomaly_score`` or its ids do not match the
            embedding rows.
        """
        vectors = store.embeddings(version)
        table = store.map_table(version)
        for column in ("id", "anomaly_score"):
            if column not in table.columns:
                msg = (
                    f"map.parquet of version {version or store.current_version!r} "
                    f"has no {column!r} column (`latentsky analyse`)"
                )
                raise DataError(msg)
        if len(table) != len(vectors):
            msg = (
                f"map.parquet has {len(table)} rows but embeddings.npy "
                f"{len(vectors)}: re-run `latentsky analyse`"
            )
            raise DataError(msg)
        score = table["anomaly_score"].to_numpy(dtype=np.float64)
        model = RelevanceModel(**settings).fit(vectors, score)
        return cls(table["id"].to_numpy(dtype=np.int64), model)

    def rows_of(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Rows of ``ids`` and which ids this version has: ``(rows, found)``."""
        ids = np.atleast_1d(np.asarray(ids, dtype=np.int64))
        pos = np.searchsorted(self.ids, ids, sorter=self._sorter)
        pos = np.minimum(pos, len(self.ids) - 1)
        rows = self._sorter[pos]
        found = self.ids[rows] == ids
        return rows[found], found

    def sync(self, notes: Annotations) -> int:
        """Apply the tags added, changed or removed since the last sync.

        Returns
        -------
        int
            How many sources changed.
        """
        table = notes.tags()
        table = table[table["tag"].isin(list(LABEL_VALUES))]
        current = dict(
            zip(table["source_id"].tolist(), table["tag"].tolist(), strict=True)
        )
        gone = [i for i in self._synced if i not in current]
        new = {i: t for i, t in current.items() if self._synced.get(i) != t}
        if gone:
            rows, _ = self.rows_of(np.array(gone))
            self.model.unlabel(rows)
        if new:
            ids = np.fromiter(new, dtype=np.int64, count=len(new))
            rows, found = self.rows_of(ids)
            if not found.all():
                log.info("%d tagged sources are not in this version", (~found).sum())
            tags = [new[int(i)] for i in ids[found]]
            if rows.size:
                self.model.label_tags(rows, tags)
        self._synced = current
        return len(gone) + len(new)

    def queue(self, n: int = 100, mode: str = "exploit") -> pd.DataFrame:
        """The next ``n`` sources to review, best first.

        Returns
        -------
        DataFrame
            ``id`` (int64), ``relevance`` (predicted P(interesting)),
            ``uncertainty`` (cosine distance to the nearest label), ``prior``
            (from the anomaly score), one row per source.
        """
        rows = acquisition_order(self.model, n, mode)
        return pd.DataFrame(
            {
                "id": self.ids[rows],
                "relevance": self.model.relevance()[rows],
                "uncertainty": self.model.uncertainty()[rows],
                "prior": self.model.prior_[rows],
            }
        )
