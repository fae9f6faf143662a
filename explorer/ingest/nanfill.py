"""NaN/inf pixel filling: the per-band median of a cutout, and the count replaced.

Non-finite pixels are not propagated into the store: each is replaced by the
median of the finite pixels of the same band of the same cutout (0 when the
band has none), and the number replaced per source becomes the catalogue
column ``n_masked``.
"""

from __future__ import annotations

import warnings

import numpy as np


def fill_nonfinite(block: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Replace NaN/inf pixels by the median of the finite ones, per cutout and band.

    Parameters
    ----------
    block : ndarray
        ``(n, bands, S, S)`` pixels (any real dtype).

    Returns
    -------
    filled : ndarray
        ``(n, bands, S, S)`` finite float32 (a new array).
    n_masked : ndarray
        ``(n,)`` int32 number of pixels replaced in each cutout.
    """
    # float64 values beyond the float32 range become inf here, and so are masked
    with np.errstate(over="ignore", invalid="ignore"):
        filled = np.array(block, dtype=np.float32)
    bad = ~np.isfinite(filled)
    n_masked = bad.sum(axis=(1, 2, 3)).astype(np.int32)
    rows = np.flatnonzero(n_masked)
    if len(rows):
        sub = np.where(bad[rows], np.nan, filled[rows])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN bands
            median = np.nanmedian(sub, axis=(2, 3))
        median = np.nan_to_num(median, nan=0.0).astype(np.float32)
        filled[rows] = np.where(bad[rows], median[:, :, None, None], sub)
    return filled, n_masked
