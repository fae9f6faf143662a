"""Server-side point table of one store version: lookup, selection, ordering.

Everything here is plain numpy/pandas/scipy, testable without a server. One
:class:`MapData` per ``(store, version)`` is shared by all browser sessions of
a server process (:func:`explorer.app.services.map_data`), so a
1 000 000-source table and its KD-tree are built once.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from explorer.errors import DataError
from explorer.store.catalog import rows_of_ids
from explorer.store.layout import MAP

log = logging.getLogger(__name__)

#: colour field meaning "number of sources per pixel" (datashader count)
COUNT = "count"
#: colour field: index of the saved cluster a source belongs to (-1 none)
SAVED_CLUSTER = "saved_cluster"
#: colour field: neighbourhood change since the previous version
#: (:mod:`explorer.analysis.diff`)
NEIGHBOURHOOD_CHANGE = "neighbourhood_change"
#: colour field: predicted P(interesting) of the active hunt
#: (:mod:`explorer.active`), offered once a source is labelled
RELEVANCE = "relevance"
#: colour fields drawn with a categorical colour map
CATEGORICAL = frozenset({"cluster", SAVED_CLUSTER})
_MAP_ONLY = {"id", "x", "y", "anomaly_rank"}


def points_in_polygon(x: np.ndarray, y: np.ndarray, polygon: np.ndarray) -> np.ndarray:
    """Even-odd (ray casting) point-in-polygon test, vectorised over points.

    Parameters
    ----------
    x, y : ndarray
        ``(N,)`` point coordinates.
    polygon : ndarray
        ``(V, 2)`` vertices in order; the polygon is closed implicitly.

    Returns
    -------
    ndarray
        ``(N,)`` bool, True inside. Points exactly on an edge may go either way.

    Raises
    ------
    ValueError
        If the polygon has fewer than 3 vertices or is not ``(V, 2)``.
    """
    polygon = np.asarray(polygon, dtype=np.float64)
    if polygon.ndim != 2 or polygon.shape[1] != 2 or len(polygon) < 3:
        msg = f"polygon has shape {polygon.shape}, need (V >= 3, 2) vertices"
        raise ValueError(msg)
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    inside = np.zeros(x.shape, dtype=bool)
    (xmin, ymin), (xmax, ymax) = polygon.min(axis=0), polygon.max(axis=0)
    candidates = np.flatnonzero((x >= xmin) & (x <= xmax) & (y >= ymin) & (y <= ymax))
    if candidates.size == 0:
        return inside
    px, py = x[candidates], y[candidates]
    hit = np.zeros(candidates.size, dtype=bool)
    xj, yj = polygon[-1]
    for xi, yi in polygon:
        crosses = (yi > py) != (yj > py)
        if crosses.any():
            with np.errstate(divide="ignore", invalid="ignore"):
                x_cross = xi + (py - yi) * (xj - xi) / (yj - yi)
            hit ^= crosses & (px < x_cross)
        xj, yj = xi, yi
    inside[candidates] = hit
    return inside


def points_in_box(
    x: np.ndarray, y: np.ndarray, bounds: tuple[float, float, float, float]
) -> np.ndarray:
    """``(N,)`` bool mask of points inside ``bounds = (x0, y0, x1, y1)`` (inclusive)."""
    x0, y0, x1, y1 = (float(v) for v in bounds)
    x0, x1 = min(x0, x1), max(x0, x1)
    y0, y1 = min(y0, y1), max(y0, y1)
    return (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)


def page_slice(n_items: int, page: int, per_page: int) -> tuple[slice, int]:
    """Slice of page ``page`` (0-based, clamped) and the number of pages.

    Returns
    -------
    slice, int
        Items of the page, and ``max(1, ceil(n_items / per_page))``.
    """
    if per_page < 1:
        msg = f"per_page must be >= 1, got {per_page}"
        raise ValueError(msg)
    n_pages = max(1, -(-int(n_items) // per_page))
    page = min(max(int(page), 0), n_pages - 1)
    return slice(page * per_page, min((page + 1) * per_page, n_items)), n_pages


class MapData:
    """The map table of one version joined with the catalogue.

    Parameters
    ----------
    store : explorer.store.Store
        The opened store.
    version : str
        Version name (its ``map.parquet`` must exist).

    Attributes
    ----------
    table : DataFrame
        Row-aligned with the catalogue: ``id, x, y``, the map's score columns
        and the numeric public catalogue columns (``ra``, ``dec``, mags, ...).
    x, y : ndarray
        ``(N,)`` float64 map coordinates.
    """

    def __init__(self, store, version: str) -> None:
        from scipy.spatial import cKDTree

        self.store = store
        self.version = version
        map_table = store.map_table(version)
        catalog = store.catalog
        if len(map_table) != len(catalog):
            msg = (
                f"{store.version_file(version, MAP)} has "
                f"{len(map_table)} rows "
                f"but the catalogue has {len(catalog)}"
            )
            raise DataError(msg)
        if not np.array_equal(map_table["id"].to_numpy(), catalog["id"].to_numpy()):
            msg = f"{MAP} of version {version!r} is not row-aligned with the catalogue"
            raise DataError(msg)
        extra = [
            c
            for c in catalog.columns
            if c not in map_table.columns
            and not str(c).startswith("_")
            and pd.api.types.is_numeric_dtype(catalog[c])
            and not pd.api.types.is_bool_dtype(catalog[c])
        ]
        table = map_table.reset_index(drop=True)
        for column in extra:
            table[column] = catalog[column].to_numpy()
        self.table = table
        self.ids = table["id"].to_numpy(dtype=np.int64)
        self.x = table["x"].to_numpy(dtype=np.float64)
        self.y = table["y"].to_numpy(dtype=np.float64)
        self.tree = cKDTree(np.column_stack([self.x, self.y]))
        self._id_sorter = np.argsort(self.ids, kind="stable")
        self._embeddings = None

    @property
    def n(self) -> int:
        """Number of sources."""
        return len(self.ids)

    def numeric_fields(self) -> list[str]:
        """Colour fields from the table: numeric, not ``id/x/y``, not hidden."""
        return [
            c
            for c in self.table.columns
            if c not in _MAP_ONLY
            and not str(c).startswith("_")
            and pd.api.types.is_numeric_dtype(self.table[c])
        ]

    def rows_of(self, ids) -> np.ndarray:
        """Rows of ``ids``, ``(n,)`` int64 (all must exist, else :class:`DataError`)."""
        return rows_of_ids(
            self.ids, ids, what=f"version {self.version!r}", sorter=self._id_sorter
        )

    def rows_present(self, ids) -> np.ndarray:
        """Rows of those ``ids`` that are in this version (the others skipped).

        Saved clusters and tags outlive versions, so their members are looked
        up with this rather than :meth:`rows_of`.
        """
        ids = np.atleast_1d(np.asarray(ids, dtype=np.int64))
        return self.rows_of(ids[np.isin(ids, self.ids)])

    def nearest(self, x: float, y: float, radius: float) -> int | None:
        """Row of the source nearest to ``(x, y)`` within ``radius`` (map units)."""
        if x is None or y is None or not np.isfinite([x, y]).all():
            return None
        distance, row = self.tree.query([x, y], k=1, distance_upper_bound=radius)
        return int(row) if np.isfinite(distance) else None

    def select_box(self, bounds) -> np.ndarray:
        """Sorted rows inside ``bounds = (x0, y0, x1, y1)``."""
        return np.flatnonzero(points_in_box(self.x, self.y, bounds))

    def select_polygon(self, vertices) -> np.ndarray:
        """Sorted rows inside the polygon ``vertices`` ``(V, 2)``."""
        return np.flatnonzero(points_in_polygon(self.x, self.y, vertices))

    @property
    def embeddings(self) -> np.ndarray:
        """Memory-mapped ``(N, D)`` embeddings of this version."""
        if self._embeddings is None:
            self._embeddings = self.store.embeddings(self.version)
        return self._embeddings

    def order(
        self, rows: np.ndarray, key: str, descending: bool | None = None
    ) -> np.ndarray:
        """``rows`` reordered by ``key``.

        Parameters
        ----------
        rows : ndarray
            ``(n,)`` row numbers.
        key : str
            ``id``, ``centroid`` (Euclidean embedding distance to the mean
            embedding of ``rows``) or a numeric table column.
        descending : bool, optional
            Largest first; None takes the key's natural direction
            (:func:`natural_descending`: scores and columns descending, most
            anomalous first; ``id`` and ``centroid`` ascending).

        Returns
        -------
        ndarray
            ``(n,)`` rows; ties by ascending id and NaN last in both directions.

        Raises
        ------
        DataError
            If ``key`` is neither ``id``, ``centroid`` nor a table column.
        """
        rows = np.asarray(rows, dtype=np.int64)
        if rows.size == 0:
            return rows
        if descending is None:
            descending = natural_descending(key)
        if key == "id":
            values = self.ids[rows].astype(np.float64)
        elif key == "centroid":
            rows = np.sort(rows)
            vectors = np.asarray(self.embeddings[rows], dtype=np.float64)
            values = np.linalg.norm(vectors - vectors.mean(axis=0), axis=1)
        elif key in self.table.columns:
            values = self.table[key].to_numpy(dtype=np.float64)[rows]
        else:
            msg = (
                f"cannot order by {key!r}: not 'id', 'centroid' or a map/catalogue "
                "column"
            )
            raise DataError(msg)
        values = -values if descending else values
        values = np.where(np.isnan(values), np.inf, values)
        return rows[np.lexsort((self.ids[rows], values))]


def natural_descending(key: str) -> bool:
    """Whether the grid shows ``key`` largest first by default.

    Scores and catalogue columns: yes (most anomalous, brightest flux first);
    ``id`` and ``centroid`` (distance to the selection's mean): no.
    """
    return key not in ("id", "centroid")


def field_values(
    data: MapData, field: str, previous_version: str | None = None
) -> np.ndarray:
    """Per-row values of colour ``field`` of the map.

    Parameters
    ----------
    data : MapData
        The map table.
    field : str
        :data:`COUNT`, :data:`SAVED_CLUSTER`, :data:`NEIGHBOURHOOD_CHANGE` or a
        numeric column of ``data.table``.
    previous_version : str, optional
        The version :data:`NEIGHBOURHOOD_CHANGE` compares with.

    Returns
    -------
    ndarray
        ``(N,)`` float64: ones for the count, the index of the first saved
        cluster holding a source (-1 none), the neighbourhood change in
        ``[0, 1]``, or the column.

    Raises
    ------
    DataError
        If :data:`NEIGHBOURHOOD_CHANGE` is asked without a previous version.
    KeyError
        If ``field`` is not a column.

    Notes
    -----
    The saved clusters are read from SQLite and the change is a k-NN diff of
    two versions: the dashboard calls this off the event loop.
    """
    if field == COUNT:
        return np.ones(data.n)
    if field == SAVED_CLUSTER:
        from explorer.store.annotations import Annotations

        notes = Annotations.of_store(data.store)
        values = np.full(data.n, -1.0)
        for index, name in enumerate(notes.names()):
            rows = data.rows_present(notes.members(name))
            values[rows] = np.where(values[rows] < 0, index, values[rows])
        return values
    if field == NEIGHBOURHOOD_CHANGE:
        from explorer.analysis.diff import neighbourhood_change

        if previous_version is None:
            msg = f"version {data.version!r} has no previous version to compare with"
            raise DataError(msg)
        change = neighbourhood_change(data.store, previous_version, data.version)
        return np.asarray(change, dtype=np.float64)
    if field == RELEVANCE:
        return relevance_values(data)
    return data.table[field].to_numpy(dtype=np.float64)


def category_names(data: MapData, field: str) -> list[str] | None:
    """Names of the categories of ``field`` by index (saved clusters), or None.

    The index of a saved cluster is its position in
    ``Annotations.names()``, as in :func:`field_values`; other fields' categories
    have no names (a SQLite read: call it off the event loop).
    """
    if field != SAVED_CLUSTER:
        return None
    from explorer.store.annotations import Annotations

    return list(Annotations.of_store(data.store).names())


def relevance_values(data: MapData) -> np.ndarray:
    """``(N,)`` float64 predicted relevance of every row, from the current labels.

    The server-wide relevance model of the version
    (:func:`explorer.app.services.caches.shared_hunt`), synced with the
    annotations first; its rows are the map's rows.
    """
    from explorer.app.services.caches import shared_hunt
    from explorer.store.annotations import Annotations

    shared = shared_hunt(data.store, data.version)
    with shared.lock:
        shared.hunt.sync(Annotations.of_store(data.store))
        return shared.hunt.model.relevance().astype(np.float64, copy=True)
