"""A version of a store as a HATS catalogue (``latentsky export --format hats``).

HATS (Hierarchical Adaptive Tiling Scheme) is the partitioned Parquet layout
of the Rubin-era catalogue tools: sources are split into HEALPix tiles of
adaptive order, so ``lsdb`` cross-matches, cone-searches and joins a
catalogue of any size against other surveys' HATS catalogues without loading
it whole. One row per source: the catalogue's columns (``id``, ``ra``, ``dec``
in degrees ICRS, survey columns; hidden ``_`` columns left out), then every
column of the version's ``map.parquet`` under its own name (``x``, ``y``,
``anomaly_score``, ``anomaly_rank``, ``cluster``, ...), then the saved
annotations (``tag``, ``saved_clusters``). A catalogue column whose name a
map column also has is kept as ``catalog_<name>``.

The catalogue is written with ``lsdb.from_dataframe(...).write_catalog(...)`` (a
collection: the catalogue plus a 5 arcsec margin cache, which keeps
cross-matches exact at tile edges) into a temporary folder that is then
renamed into place, so a reader never sees half of one.
"""

from __future__ import annotations

import contextlib
import logging
import os
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from explorer.errors import DataError, StoreError
from explorer.store import atomic, location
from explorer.store.layout import MAP

if TYPE_CHECKING:
    from explorer.store.store import Store

log = logging.getLogger(__name__)

#: Files that mark a folder as a HATS catalogue or collection.
HATS_MARKERS = ("collection.properties", "hats.properties", "properties")
#: Prefix of a catalogue column renamed because a map column has its name.
CLASH_PREFIX = "catalog_"


def is_hats(path: Any) -> bool:
    """Whether ``path`` is a folder holding a HATS catalogue or collection."""
    try:
        return path.is_dir() and any((path / m).is_file() for m in HATS_MARKERS)
    except OSError:
        return False


@contextlib.contextmanager
def quiet_lsdb() -> Iterator[Any]:
    """Yield the ``lsdb`` module, with pandas' deprecation warnings inside it off.

    lsdb 0.11 still uses pandas API that pandas 3.1 deprecates (setting
    ``mode.chained_assignment`` at import, ``set_index(inplace=True)``): the
    ``Pandas4Warning`` it raises is about lsdb's code, not ours or the user's.
    """
    category = getattr(pd.errors, "Pandas4Warning", DeprecationWarning)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category)
        import lsdb

        yield lsdb


def version_table(store: Store, version: str | None = None) -> pd.DataFrame:
    """Every source of ``store`` with its catalogue, map and annotation columns.

    Parameters
    ----------
    store : explorer.store.Store
        The store.
    version : str, optional
        Embedding version of the map columns (default the current one).

    Returns
    -------
    DataFrame
        ``(N, columns)`` in store row order; see the module docstring.

    Raises
    ------
    StoreError
        If the store has no version, or the map's ids are not the catalogue's
        (row ``i`` of both must be the same source).
    """
    name = version or store.current_version
    if name is None:
        msg = f"store {store.root} has no version to export (run `latentsky embed`)"
        raise StoreError(msg)
    catalog = store.catalog
    table = catalog[[c for c in catalog.columns if not str(c).startswith("_")]]
    table = table.reset_index(drop=True)
    map_table = store.map_table(name)
    map_ids = map_table["id"].to_numpy(dtype=np.int64) if "id" in map_table else None
    if map_ids is None or not np.array_equal(map_ids, store.ids):
        msg = (
            f"{MAP} of version {name!r} does not list the catalogue's ids in row "
            f"order ({len(map_table)} rows, the store has {store.n_sources}): "
            f"run `latentsky analyse --version {name}`"
        )
        raise StoreError(msg)
    extra = map_table.drop(columns=["id"]).reset_index(drop=True)
    clashes = {c: f"{CLASH_PREFIX}{c}" for c in table.columns if c in extra.columns}
    table = pd.concat([table.rename(columns=clashes), extra], axis=1)
    return _with_annotations(store, table)


def _with_annotations(store: Store, table: pd.DataFrame) -> pd.DataFrame:
    """``table`` with the ``tag`` and ``saved_clusters`` of its sources."""
    table["tag"] = ""
    table["saved_clusters"] = ""
    if store.annotations_path.exists():
        from explorer.store.annotations import Annotations

        notes = Annotations(store.annotations_path)
        ids = store.ids
        table["tag"] = notes.tag_of(ids).to_numpy(dtype=object).astype(str)
        table["saved_clusters"] = notes.clusters_of(ids).to_numpy(dtype=object)
        table["saved_clusters"] = table["saved_clusters"].astype(str)
    return table


def export_hats(
    store: Store,
    out: str | os.PathLike[str],
    version: str | None = None,
    *,
    catalog_name: str | None = None,
    partition_rows: int | None = None,
) -> Path:
    """Write a version of ``store`` as a HATS catalogue at ``out``.

    Parameters
    ----------
    store : explorer.store.Store
        The store.
    out : path-like or str
        The catalogue folder (a local path or an fsspec URL). An existing
        HATS catalogue there is replaced; any other existing file or
        non-empty folder is refused.
    version : str, optional
        Embedding version (default the current one).
    catalog_name : str, optional
        The HATS ``obs_collection``/catalogue name (default
        ``<store name>_<version>``).
    partition_rows : int, optional
        Most rows per HEALPix tile (lsdb's default when None).

    Returns
    -------
    pathlib.Path or upath.UPath
        ``out``.

    Raises
    ------
    DataError
        If ``out`` holds something that is not a HATS catalogue.
    StoreError
        As :func:`version_table`.
    """
    target = location.store_path(out)
    _check_target(target)
    name = version or store.current_version
    table = version_table(store, name)
    catalog_name = catalog_name or f"{store.root.name}_{name}"
    with quiet_lsdb() as lsdb, atomic.atomic_path(target) as tmp:
        catalog = lsdb.from_dataframe(
            table,
            ra_column="ra",
            dec_column="dec",
            catalog_name=catalog_name,
            partition_rows=partition_rows,
        )
        catalog.write_catalog(
            tmp,
            catalog_name=catalog_name,
            progress_bar=False,
            addl_hats_properties={
                "latentsky_store": str(store.root),
                "latentsky_version": name,
            },
        )
    log.info("wrote %d sources of version %s to %s", len(table), name, target)
    return target


def _check_target(target: Any) -> None:
    """Refuse to replace anything at ``target`` but a HATS catalogue."""
    if not target.exists() or is_hats(target):
        return
    if target.is_dir() and not any(target.iterdir()):
        return
    msg = (
        f"{target} exists and is not a HATS catalogue: choose a new folder "
        "(an existing HATS catalogue is replaced)"
    )
    raise DataError(msg)


def read_hats(path: Any, columns: list[str] | None = None) -> pd.DataFrame:
    """A HATS catalogue (or collection) as one DataFrame with numpy dtypes.

    Rows come in HEALPix (sky) order; the ``_healpix_29`` index is dropped.

    Parameters
    ----------
    path : path-like, str or UPath
        The catalogue folder.
    columns : list of str, optional
        Only these columns (default all).

    Returns
    -------
    DataFrame
        One row per source.

    Raises
    ------
    DataError
        If ``path`` is not a readable HATS catalogue, naming it.
    """
    target = location.store_path(path)
    if not is_hats(target):
        markers = ", ".join(HATS_MARKERS)
        msg = f"{path} is not a HATS catalogue (no {markers} in it)"
        raise DataError(msg)
    import pyarrow as pa

    try:
        with quiet_lsdb() as lsdb:
            catalog = lsdb.open_catalog(target, columns=columns)
            frame = catalog.compute(progress_bar=False)
    except (OSError, ValueError, KeyError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        msg = f"HATS catalogue {path}: cannot read ({type(exc).__name__}: {reason})"
        raise DataError(msg) from None
    # lsdb hands back pyarrow-backed columns; the store works on numpy dtypes
    plain = pd.DataFrame(frame).reset_index(drop=True)
    arrow = pa.Table.from_pandas(plain, preserve_index=False)
    return arrow.to_pandas(ignore_metadata=True)
