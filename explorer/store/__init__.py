"""The embedding store: a directory of open formats, one per stage's output.

The layout (every file and folder name) lives in :mod:`explorer.store.layout`;
the modules here are:

- :mod:`~explorer.store.store`: :class:`Store`, an opened store (manifest,
  catalogue, cutouts, embedding versions);
- :mod:`~explorer.store.builder`: :class:`StoreBuilder`, a new store written
  in chunks and published atomically;
- :mod:`~explorer.store.manifest`: reading and checking ``manifest.json``,
  version names;
- :mod:`~explorer.store.catalog`: the catalogue contract and the id -> row
  lookup shared by every table of source ids;
- :mod:`~explorer.store.atomic`: write to a temporary name, rename into place;
- :mod:`~explorer.store.annotations`: saved clusters and tags (SQLite, WAL);
- :mod:`~explorer.store.export`: sources as CSV, FITS or VOTable;
- :mod:`~explorer.store.hats`: a whole version as a HATS catalogue (lsdb);
- :mod:`~explorer.store.location`: a store on local disk or at an fsspec URL
  (``memory://``, ``s3://``, ...), and how each kind is read and written.

This module only re-exports the names other packages use.
"""

from __future__ import annotations

from explorer.store import atomic, layout
from explorer.store.builder import StoreBuilder
from explorer.store.catalog import rows_of_ids, validate_catalog
from explorer.store.layout import (
    ANNOTATIONS,
    CATALOG,
    CONFIG,
    CUTOUTS,
    EMBEDDINGS,
    FORMAT_NAME,
    FORMAT_VERSION,
    INDEX,
    MANIFEST,
    MAP,
    SHARD_SOURCES,
    VERSIONS,
)
from explorer.store.manifest import check_version_name, is_store
from explorer.store.store import Store

__all__ = [
    "ANNOTATIONS",
    "CATALOG",
    "CONFIG",
    "CUTOUTS",
    "EMBEDDINGS",
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "INDEX",
    "MANIFEST",
    "MAP",
    "SHARD_SOURCES",
    "VERSIONS",
    "Store",
    "StoreBuilder",
    "atomic",
    "check_version_name",
    "is_store",
    "layout",
    "rows_of_ids",
    "validate_catalog",
]
