"""Named clusters and per-source tags, persisted in the store's SQLite file.

- :mod:`~explorer.store.annotations.database`: the file, its schema, WAL
  connections and write transactions, the revision counter;
- :mod:`~explorer.store.annotations.clusters`: saved clusters and members;
- :mod:`~explorer.store.annotations.tags`: interesting/boring/artefact tags
  and the undo of the last label;
- :mod:`~explorer.store.annotations.marks`: Similar-tab +/- pairs;
- :mod:`~explorer.store.annotations.provenance`: how a cluster was made
  (selection geometry, version, encoder, settings);
- :mod:`~explorer.store.annotations.migrate`: upgrades of older files;
- :mod:`~explorer.store.annotations.validate`: names and id selections.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from explorer.store.annotations.clusters import ClusterAnnotations
from explorer.store.annotations.database import (
    BUSY_TIMEOUT_S,
    SCHEMA_VERSION,
    TAGS,
    AnnotationsDatabase,
)
from explorer.store.annotations.marks import SimilarMarkAnnotations
from explorer.store.annotations.provenance import ClusterProvenance
from explorer.store.annotations.tags import TagAnnotations
from explorer.store.annotations.validate import MAX_NAME_LENGTH

if TYPE_CHECKING:
    from explorer.store.store import Store

__all__ = [
    "BUSY_TIMEOUT_S",
    "MAX_NAME_LENGTH",
    "SCHEMA_VERSION",
    "TAGS",
    "Annotations",
    "AnnotationsDatabase",
    "ClusterProvenance",
]


class Annotations(ClusterAnnotations, TagAnnotations, SimilarMarkAnnotations):
    """Named clusters, per-source tags and Similar-tab marks, in SQLite.

    Safe to share between threads and processes (see
    :mod:`~explorer.store.annotations.database`).

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

    @classmethod
    def of_store(cls, store: Store) -> Annotations:
        """The annotations database of ``store``."""
        return cls(store.annotations_path)
