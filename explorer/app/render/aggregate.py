"""Aggregate a view of the grid index on every CPU core.

The kernel (:func:`~explorer.app.render.kernels.aggregate_slices`) releases
the GIL, so the visible slices are shared among threads, each filling its own
buffers; partial counts and sums add up, maxima combine where counted.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from explorer.app.render import kernels

#: views with fewer points than this are aggregated in the calling thread
PARALLEL_MIN_POINTS = 1_000_000


def aggregate_view(index, values, mode, x_range, y_range, shape) -> np.ndarray:
    """``(H, W)`` float64 aggregate of the points of a view.

    Parameters
    ----------
    index : GridIndex
        The version's point index.
    values : ndarray
        ``(N,)`` float32 colour values in the index's cell order.
    mode : int
        :data:`~explorer.app.render.kernels.COUNT`, ``MEAN`` or ``MAX``.
    x_range, y_range : tuple of float
        The view in map units (either order).
    shape : tuple of int
        ``(height, width)`` in pixels.

    Returns
    -------
    ndarray
        Points per pixel for a count (0 where empty), else the mean or maximum
        of the non-NaN values (NaN where none), equal to datashader's
        ``count()``, ``mean("value")`` and ``max("value")``; row 0 at the low
        ``y``.
    """
    x_range = (float(min(x_range)), float(max(x_range)))
    y_range = (float(min(y_range)), float(max(y_range)))
    starts, stops, checked = index.view_slices(x_range, y_range)
    count, acc = _aggregate_parallel(
        index, values, (starts, stops, checked), x_range, y_range, shape, mode
    )
    if mode == kernels.COUNT:
        return count
    with np.errstate(invalid="ignore", divide="ignore"):
        agg = acc / count if mode == kernels.MEAN else acc
    agg[count == 0] = np.nan
    return agg


def _split(starts: np.ndarray, stops: np.ndarray, parts: int) -> list[slice]:
    """Cut a list of slices into ``parts`` runs holding about equal points."""
    if parts <= 1 or len(starts) < 2:
        return [slice(0, len(starts))]
    total = np.cumsum(stops - starts)
    cuts = np.searchsorted(total, total[-1] * np.arange(1, parts) / parts)
    edges = np.unique(np.r_[0, cuts + 1, len(starts)].clip(0, len(starts)))
    return [slice(a, b) for a, b in zip(edges[:-1], edges[1:], strict=True) if b > a]


def _aggregate_parallel(index, values, slices, x_range, y_range, shape, mode):
    """``(count, acc)`` of the view, the slices shared among the CPU cores.

    ``slices`` is ``(starts, stops, checked)`` of
    :meth:`~explorer.app.render.grid_index.GridIndex.view_slices`.

    Each thread fills its own buffers (the kernel releases the GIL); the
    partial counts and sums add up and the maxima combine where counted.
    """
    starts, stops, checked = slices
    runs = _split(
        starts, stops, _THREADS if (stops - starts).sum() > PARALLEL_MIN_POINTS else 1
    )

    def part(run: slice) -> tuple[np.ndarray, np.ndarray]:
        count, acc = np.zeros(shape), np.zeros(shape)
        kernels.aggregate_slices(
            index.xs,
            index.ys,
            values,
            starts[run],
            stops[run],
            checked[run],
            *x_range,
            *y_range,
            shape[1],
            shape[0],
            mode,
            count,
            acc,
        )
        return count, acc

    if len(runs) == 1:
        return part(runs[0])
    results = list(_pool().map(part, runs))
    count, acc = results[0]
    for more_count, more_acc in results[1:]:
        if mode == kernels.MAX:
            take = (more_count > 0) & ((count == 0) | (more_acc > acc))
            acc[take] = more_acc[take]
        else:
            acc += more_acc
        count += more_count
    return count, acc


_THREADS = max(1, min(4, os.cpu_count() or 1))
_POOL: list[ThreadPoolExecutor] = []
# a forked serving process (explorer.app.processes) has none of its
# parent's threads: it starts its own pool on first use
os.register_at_fork(after_in_child=_POOL.clear)


def _pool() -> ThreadPoolExecutor:
    if not _POOL:
        _POOL.append(ThreadPoolExecutor(_THREADS, thread_name_prefix="map-render"))
    return _POOL[0]


#: kernel mode of each datashader reduction a style names
_MODES = {"count": kernels.COUNT, "mean": kernels.MEAN, "max": kernels.MAX}


def kernel_mode(reduction) -> int:
    """Kernel mode of a datashader reduction (``count``, ``mean`` or ``max``).

    Raises
    ------
    ValueError
        For any other reduction.
    """
    name = type(reduction).__name__
    if name not in _MODES:
        msg = f"map reduction {name!r} is not one of {sorted(_MODES)}"
        raise ValueError(msg)
    return _MODES[name]
