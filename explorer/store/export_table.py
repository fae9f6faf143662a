"""The export table of a set of sources: catalogue, map, scores and tags.

Each row is one source with its catalogue columns (``id``, ``ra``, ``dec`` in
degrees, survey columns; hidden ``_`` columns are left out), its position on
the 2-D map of an embedding version (``map_x``, ``map_y``), its scores
(``anomaly_score``, ``anomaly_rank``, ...), automatic ``cluster`` id, its
``tag`` ("interesting", "boring" or "") and the saved clusters it belongs to
(``saved_clusters``, ``;``-joined).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from explorer.errors import DataError, StoreError
from explorer.store.layout import MAP

if TYPE_CHECKING:
    from explorer.store.annotations import Annotations
    from explorer.store.store import Store

#: Map columns renamed on export (``x``/``y`` would clash with pixel columns).
_MAP_RENAMES = {"x": "map_x", "y": "map_y"}


def source_table(
    store: Store,
    ids: Iterable[int] | np.ndarray,
    *,
    version: str | None = None,
    annotations: Annotations | None = None,
) -> pd.DataFrame:
    """The export table of ``ids`` (in the given order, duplicates dropped).

    Parameters
    ----------
    store : explorer.store.Store
        The store.
    ids : array-like of int
        ``(n,)`` source ids.
    version : str, optional
        Embedding version for the map/score columns; default the current
        one. A store without versions exports catalogue columns only.
    annotations : explorer.store.annotations.Annotations, optional
        Source of the ``tag`` and ``saved_clusters`` columns; default the
        store's own database when it exists.

    Returns
    -------
    DataFrame
        One row per source; see the module docstring for the columns.

    Raises
    ------
    DataError
        If ``ids`` is empty.
    StoreError
        If an id is not in the store or ``version`` does not exist.
    """
    arr = np.atleast_1d(
        np.asarray(list(ids) if not isinstance(ids, np.ndarray) else ids)
    )
    if arr.size == 0:
        raise DataError("nothing to export: the selection is empty")
    if arr.dtype.kind not in "iu":
        msg = f"source ids must be integers, got dtype {arr.dtype}"
        raise DataError(msg)
    arr = pd.unique(arr.astype(np.int64))
    rows = store.rows_of(arr)
    catalog = store.catalog
    visible = [c for c in catalog.columns if not str(c).startswith("_")]
    table = catalog.iloc[rows][visible].reset_index(drop=True)

    name = version or store.current_version
    if name is not None:
        map_table = store.map_table(name)
        if len(map_table) != store.n_sources:
            msg = (
                f"{MAP} of version {name!r} has {len(map_table)} rows, "
                f"the store has {store.n_sources} sources"
            )
            raise StoreError(msg)
        extra = map_table.iloc[rows].reset_index(drop=True)
        extra = extra.drop(columns=["id"], errors="ignore").rename(columns=_MAP_RENAMES)
        clashes = [c for c in extra.columns if c in table.columns]
        extra = extra.rename(columns={c: f"map_{c}" for c in clashes})
        table = pd.concat([table, extra], axis=1)

    if annotations is None and store.annotations_path.exists():
        from explorer.store.annotations import Annotations

        annotations = Annotations(store.annotations_path)
    if annotations is not None:
        table["tag"] = annotations.tag_of(arr).to_numpy(dtype=object).astype(str)
        table["saved_clusters"] = (
            annotations.clusters_of(arr).to_numpy(dtype=object).astype(str)
        )
    else:
        table["tag"] = ""
        table["saved_clusters"] = ""
    return table
