"""Numba kernels of the map: sort points by grid cell, aggregate a view, count
a box's edge cells.

Plain numpy arrays in, plain arrays out; :class:`~explorer.app.render.grid_index.
GridIndex` and :class:`~explorer.app.render.map.MapRenderer` call them. Every
kernel releases the GIL (``nogil``), so a render in the server's thread pool
does not stall the event loop of other sessions.

The pixel of a point is computed exactly as datashader's ``Canvas.points``
does (``int(x * s + t)`` with ``s = width / (x1 - x0)``, ``t = -x0 * s``, the
far edge folded into the last pixel), so an aggregate here equals datashader's
of the same points, pixel for pixel.
"""

from __future__ import annotations

import math

import numba
import numpy as np

#: aggregation modes of :func:`aggregate_slices`
COUNT, MEAN, MAX = 0, 1, 2


@numba.njit(nogil=True, cache=False)
def cell_of(value: float, low: float, scale: float, cells: int) -> int:
    """Grid cell of one coordinate: ``floor((value - low) * scale)`` clipped to
    ``[0, cells - 1]`` (monotone in ``value``: box edges and points agree)."""
    c = math.floor((value - low) * scale)
    if c < 0:
        return 0
    if c > cells - 1:
        return cells - 1
    return int(c)


@numba.njit(nogil=True, cache=False)
def sort_by_cell(x, y, x0, y0, scale_x, scale_y, cells):
    """Counting sort of points by row-major grid cell.

    Parameters
    ----------
    x, y : ndarray
        ``(N,)`` float32 coordinates; a point with a non-finite coordinate goes
        to the extra cell ``cells * cells`` (never drawn, never selected).
    x0, y0, scale_x, scale_y : float
        The grid's origin and cells per map unit along each axis.
    cells : int
        Cells per side ``G``.

    Returns
    -------
    order : ndarray
        ``(N,)`` int32 row numbers, grouped by cell (stable inside a cell).
    offsets : ndarray
        ``(G * G + 2,)`` int64: the points of cell ``k = cy * G + cx`` are
        ``order[offsets[k]:offsets[k + 1]]``.
    """
    n = x.size
    n_keys = cells * cells + 1
    keys = np.empty(n, np.int32)
    counts = np.zeros(n_keys, np.int64)
    for i in range(n):
        xv, yv = np.float64(x[i]), np.float64(y[i])
        if np.isfinite(xv) and np.isfinite(yv):
            k = cell_of(yv, y0, scale_y, cells) * cells + cell_of(
                xv, x0, scale_x, cells
            )
        else:
            k = n_keys - 1
        keys[i] = k
        counts[k] += 1
    offsets = np.zeros(n_keys + 1, np.int64)
    for k in range(n_keys):
        offsets[k + 1] = offsets[k] + counts[k]
    cursor = offsets[:-1].copy()
    order = np.empty(n, np.int32)
    for i in range(n):
        k = keys[i]
        order[cursor[k]] = i
        cursor[k] += 1
    return order, offsets


@numba.njit(nogil=True, cache=False)
def _count_slices(xs, ys, starts, stops, checked, x0, x1, y0, y1, width, height, out):
    """Points per pixel into the flat ``out`` (see :func:`aggregate_slices`)."""
    sx = width / (x1 - x0)
    tx = -x0 * sx
    sy = height / (y1 - y0)
    ty = -y0 * sy
    for s in range(starts.size):
        if checked[s]:
            for i in range(starts[s], stops[s]):
                xv = np.float64(xs[i])
                yv = np.float64(ys[i])
                if x0 <= xv and xv <= x1 and y0 <= yv and yv <= y1:
                    ix = min(int(xv * sx + tx), width - 1)
                    iy = min(int(yv * sy + ty), height - 1)
                    out[iy * width + ix] += 1.0
        else:
            for i in range(starts[s], stops[s]):
                ix = min(int(np.float64(xs[i]) * sx + tx), width - 1)
                iy = min(int(np.float64(ys[i]) * sy + ty), height - 1)
                out[iy * width + ix] += 1.0


@numba.njit(nogil=True, cache=False)
def aggregate_slices(
    xs,
    ys,
    values,
    starts,
    stops,
    checked,
    x0,
    x1,
    y0,
    y1,
    width,
    height,
    mode,
    count,
    acc,
):
    """Aggregate the points of ``[starts[s], stops[s])`` slices onto pixels.

    Parameters
    ----------
    xs, ys, values : ndarray
        ``(N,)`` float32 coordinates and colour values (cell-sorted).
    starts, stops : ndarray
        ``(S,)`` int64 slices of the arrays to visit.
    checked : ndarray
        ``(S,)`` bool: the slice's points may lie outside the view and are
        tested; False for the cells wholly inside it (a third faster).
    x0, x1, y0, y1 : float
        The view (inclusive); points outside it are skipped.
    width, height : int
        Image size in pixels.
    mode : int
        :data:`COUNT` (every point), :data:`MEAN` or :data:`MAX` (non-NaN
        values only).
    count : ndarray
        ``(height, width)`` float64, incremented in place: points per pixel
        (non-NaN values for mean and max).
    acc : ndarray
        ``(height, width)`` float64, in place: sum of values (mean) or the
        maximum (max, valid where ``count > 0``); unused for count.
    """
    sx = width / (x1 - x0)
    tx = -x0 * sx
    sy = height / (y1 - y0)
    ty = -y0 * sy
    flat_count = count.ravel()
    flat_acc = acc.ravel()
    if mode == COUNT:  # the default field: its own loop, no value reads
        _count_slices(
            xs, ys, starts, stops, checked, x0, x1, y0, y1, width, height, flat_count
        )
        return
    for s in range(starts.size):
        check = checked[s]
        for i in range(starts[s], stops[s]):
            xv = np.float64(xs[i])
            yv = np.float64(ys[i])
            if check and not (x0 <= xv and xv <= x1 and y0 <= yv and yv <= y1):
                continue
            # a point of an unchecked cell is strictly inside: 0 <= pixel
            ix = min(int(xv * sx + tx), width - 1)
            iy = min(int(yv * sy + ty), height - 1)
            pixel = iy * width + ix
            v = np.float64(values[i])
            if math.isnan(v):
                continue
            if mode == MEAN:
                flat_acc[pixel] += v
            elif flat_count[pixel] == 0.0 or v > flat_acc[pixel]:
                flat_acc[pixel] = v
            flat_count[pixel] += 1.0


@numba.njit(nogil=True, cache=False)
def box_hits(xs, ys, starts, stops, x0, x1, y0, y1, out):
    """Positions in ``xs``/``ys`` inside the box, over the given slices.

    Parameters
    ----------
    xs, ys : ndarray
        ``(N,)`` float32 coordinates.
    starts, stops : ndarray
        ``(S,)`` int64 slices to test.
    x0, x1, y0, y1 : float
        The box (inclusive).
    out : ndarray
        ``(M,)`` int64 buffer with ``M >= sum(stops - starts)``.

    Returns
    -------
    int
        Number of hits written at the start of ``out``.
    """
    n = 0
    for s in range(starts.size):
        for i in range(starts[s], stops[s]):
            xv = np.float64(xs[i])
            yv = np.float64(ys[i])
            if x0 <= xv <= x1 and y0 <= yv <= y1:
                out[n] = i
                n += 1
    return n
