"""A spatial grid index of the map's points: built once per version, shared by
every colour field and session.

The points are sorted by the cell of a ``G x G`` grid over their bounding box
(row-major, a counting sort: ``O(N)``), so the points of one row of cells
inside a view are one contiguous slice: a render visits only the points of
the visible cells, and a box is counted from the per-cell counts (a
summed-area table) for the cells wholly inside it, testing only the points of
the cells its edges cross. Coordinates are kept as float32 (the map's own
dtype): ``8 N`` bytes of coordinates plus ``4 N`` of row numbers.
"""

from __future__ import annotations

import threading
import weakref

import numpy as np

from explorer.app.render import kernels

#: most cells per side (``offsets`` are ``8 G^2`` bytes: 8 MiB at 1024)
MAX_CELLS = 1024
#: about this many points per cell, for maps too small for ``MAX_CELLS``
POINTS_PER_CELL = 8


def default_cells(n: int) -> int:
    """Cells per side for ``n`` points: ``sqrt(n / 8)`` within ``[8, 1024]``."""
    return int(min(MAX_CELLS, max(8, round((n / POINTS_PER_CELL) ** 0.5))))


class GridIndex:
    """Points sorted by grid cell, with per-cell counts.

    Parameters
    ----------
    x, y : ndarray
        ``(N,)`` map coordinates (stored as float32; non-finite points are
        kept out of every render and box).
    cells : int, optional
        Cells per side ``G`` (default :func:`default_cells`).

    Attributes
    ----------
    xs, ys : ndarray
        ``(N,)`` float32 coordinates in cell order.
    order : ndarray
        ``(N,)`` int32: ``xs[i] == x[order[i]]``.
    offsets : ndarray
        ``(G * G + 2,)`` int64 start of each cell's points (the last cell,
        ``G * G``, holds the non-finite points).
    bounds : tuple of float
        ``(x0, x1, y0, y1)`` of the grid (the finite points' bounding box).

    Raises
    ------
    ValueError
        If ``x`` and ``y`` differ in shape or ``cells < 1``.
    """

    def __init__(self, x: np.ndarray, y: np.ndarray, cells: int | None = None):
        x = np.ascontiguousarray(x, dtype=np.float32)
        y = np.ascontiguousarray(y, dtype=np.float32)
        if x.shape != y.shape or x.ndim != 1:
            msg = f"map x {x.shape} and y {y.shape} must be equal (N,) arrays"
            raise ValueError(msg)
        if len(x) >= 2**31:
            msg = f"{len(x)} points: the grid index holds at most 2**31 - 1"
            raise ValueError(msg)
        self.cells = default_cells(len(x)) if cells is None else int(cells)
        if self.cells < 1:
            msg = f"cells must be >= 1, got {cells}"
            raise ValueError(msg)
        finite = np.isfinite(x) & np.isfinite(y)
        if finite.any():
            fx, fy = x[finite], y[finite]
            self.bounds = tuple(
                float(v) for v in (fx.min(), fx.max(), fy.min(), fy.max())
            )
        else:
            self.bounds = (0.0, 1.0, 0.0, 1.0)
        x0, x1, y0, y1 = self.bounds
        self.scale_x = self.cells / ((x1 - x0) or 1.0)
        self.scale_y = self.cells / ((y1 - y0) or 1.0)
        self.order, self.offsets = kernels.sort_by_cell(
            x, y, x0, y0, self.scale_x, self.scale_y, self.cells
        )
        self.xs, self.ys = x[self.order], y[self.order]
        g = self.cells
        self._sat = np.zeros((g + 1, g + 1), dtype=np.int64)
        np.cumsum(self.cell_counts(), axis=0, out=self._sat[1:, 1:])
        np.cumsum(self._sat[1:, 1:], axis=1, out=self._sat[1:, 1:])

    @property
    def n(self) -> int:
        """Number of points (finite or not)."""
        return len(self.order)

    @property
    def nbytes(self) -> int:
        """Bytes held by the index's arrays."""
        arrays = (self.xs, self.ys, self.order, self.offsets, self._sat)
        return int(sum(a.nbytes for a in arrays))

    def cell_counts(self) -> np.ndarray:
        """``(G, G)`` int64 points per cell, row ``cy`` (y) then column ``cx``."""
        g = self.cells
        return np.diff(self.offsets[: g * g + 1]).reshape(g, g)

    def sort_values(self, values: np.ndarray) -> np.ndarray:
        """``(N,)`` float32 ``values`` (row order) in the index's cell order."""
        values = np.asarray(values)
        if values.shape != (self.n,):
            msg = f"colour values have shape {values.shape}, expected ({self.n},)"
            raise ValueError(msg)
        return np.asarray(values, dtype=np.float32)[self.order]

    def _cell_range(self, low: float, high: float, axis: int) -> tuple[int, int]:
        origin = self.bounds[2 * axis]
        scale = (self.scale_x, self.scale_y)[axis]
        return (
            kernels.cell_of(low, origin, scale, self.cells),
            kernels.cell_of(high, origin, scale, self.cells),
        )

    def _row_slices(self, rows: np.ndarray, cx_lo: int, cx_hi: int):
        """``(starts, stops)`` of cells ``cx_lo..cx_hi`` of each cell row."""
        base = np.asarray(rows, dtype=np.int64) * self.cells
        return self.offsets[base + cx_lo], self.offsets[base + cx_hi + 1]

    def view_slices(
        self, x_range, y_range
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Slices of ``xs``/``ys`` holding every point of the view.

        Parameters
        ----------
        x_range, y_range : tuple of float
            ``(low, high)`` of the view in map units.

        Returns
        -------
        starts, stops : ndarray
            ``(S,)`` int64 slices: per visible row of cells, its edge cells
            and the run of cells between them.
        checked : ndarray
            ``(S,)`` bool: False where every point of the slice is strictly
            inside the view (cells strictly between the view's edge cells:
            :func:`~explorer.app.render.kernels.cell_of` is monotone), True
            where the render must test each point.
        """
        cx_lo, cx_hi = self._cell_range(*x_range, axis=0)
        cy_lo, cy_hi = self._cell_range(*y_range, axis=1)
        edge_rows = np.unique([cy_lo, cy_hi])
        rows = np.arange(cy_lo + 1, cy_hi)
        parts = [
            (*self._row_slices(edge_rows, cx_lo, cx_hi), True),
            (*self._row_slices(rows, cx_lo, cx_lo), True),
            (*self._row_slices(rows, cx_lo + 1, cx_hi - 1), False),
        ]
        if cx_hi > cx_lo:
            parts.append((*self._row_slices(rows, cx_hi, cx_hi), True))
        starts = np.concatenate([p[0] for p in parts])
        stops = np.concatenate([p[1] for p in parts])
        checked = np.concatenate([np.full(len(p[0]), p[2]) for p in parts])
        keep = stops > starts
        return starts[keep], stops[keep], checked[keep]

    def _box_parts(self, bounds):
        """Interior cell ranges and edge slices of a box (see :meth:`count_in_box`)."""
        x0, y0, x1, y1 = (float(v) for v in bounds)
        if not np.isfinite([x0, y0, x1, y1]).all():
            msg = f"box bounds {bounds} must be finite numbers"
            raise ValueError(msg)
        x0, x1, y0, y1 = min(x0, x1), max(x0, x1), min(y0, y1), max(y0, y1)
        cx_lo, cx_hi = self._cell_range(x0, x1, axis=0)
        cy_lo, cy_hi = self._cell_range(y0, y1, axis=1)
        # cells strictly between the edge cells hold points strictly inside
        # the box (cell_of is monotone), so only the edge cells are tested
        edge_rows = np.unique([cy_lo, cy_hi])
        starts, stops = self._row_slices(edge_rows, cx_lo, cx_hi)
        middle = np.arange(cy_lo + 1, cy_hi)
        for cx in np.unique([cx_lo, cx_hi]):
            more = self._row_slices(middle, cx, cx)
            starts, stops = np.r_[starts, more[0]], np.r_[stops, more[1]]
        interior = (cy_lo + 1, cy_hi, cx_lo + 1, cx_hi)  # half-open cell ranges
        return (x0, x1, y0, y1), interior, starts, stops

    def _edge_hits(self, box, starts, stops) -> np.ndarray:
        out = np.empty(int((stops - starts).sum()), dtype=np.int64)
        n = kernels.box_hits(self.xs, self.ys, starts, stops, *box, out)
        return out[:n]

    def count_in_box(self, bounds) -> int:
        """Points inside ``bounds = (x0, y0, x1, y1)`` (inclusive), exactly.

        Raises
        ------
        ValueError
            If a bound is not finite.
        """
        box, (r0, r1, c0, c1), starts, stops = self._box_parts(bounds)
        inner = 0
        if r1 > r0 and c1 > c0:
            sat = self._sat
            inner = int(sat[r1, c1] - sat[r0, c1] - sat[r1, c0] + sat[r0, c0])
        return inner + len(self._edge_hits(box, starts, stops))

    def rows_in_box(self, bounds) -> np.ndarray:
        """Sorted ``(n,)`` int64 row numbers inside ``bounds`` (inclusive).

        Raises
        ------
        ValueError
            If a bound is not finite.
        """
        box, (r0, r1, c0, c1), starts, stops = self._box_parts(bounds)
        parts = [self.order[self._edge_hits(box, starts, stops)]]
        if r1 > r0 and c1 > c0:
            inner_starts, inner_stops = self._row_slices(np.arange(r0, r1), c0, c1 - 1)
            parts += [
                self.order[a:b] for a, b in zip(inner_starts, inner_stops, strict=True)
            ]
        rows = np.concatenate(parts).astype(np.int64)
        rows.sort()
        return rows


_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_CACHE_LOCK = threading.Lock()


def index_for(owner, x: np.ndarray, y: np.ndarray) -> GridIndex:
    """The :class:`GridIndex` of ``owner``'s points, built on first use.

    Parameters
    ----------
    owner : object
        The object the points belong to (the server's shared
        :class:`~explorer.app.data.MapData` of a version); the index lives as
        long as it does, so every session and colour field of a version shares
        one index.
    x, y : ndarray
        ``(N,)`` map coordinates of ``owner``.

    Returns
    -------
    GridIndex
    """
    with _CACHE_LOCK:
        index = _CACHE.get(owner)
        if index is None or index.n != len(x):
            index = GridIndex(x, y)
            _CACHE[owner] = index
        return index
