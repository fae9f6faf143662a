"""Principal-axis reduction, and the one-thread BLAS the metrics run under.

Shared by the clusters (HDBSCAN sees a PCA-reduced embedding), the TPCF score
(pairs are counted in 2 principal dimensions) and the cluster metrics.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def single_threaded_blas() -> Any:
    """Context limiting BLAS to one thread.

    The metrics run on a shared, loaded machine next to the UI; there a
    128 x 128 Gram matrix of 10^5 rows took 0.6-3.5 s with two BLAS threads
    fighting for cores and 0.09 s with one.

    Returns
    -------
    threadpoolctl.threadpool_limits
        Use it as a ``with`` context.
    """
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="blas")


def pca_reduce(X: np.ndarray, n_components: int) -> np.ndarray:
    """Project ``X`` on its first ``n_components`` principal axes.

    Parameters
    ----------
    X : ndarray
        ``(n, D)`` finite values.
    n_components : int
        Output dimensions; with ``D <= n_components`` ``X`` is only centred.

    Returns
    -------
    ndarray
        ``(n, min(D, n_components))``, centred (float64 for float64 input).
    """
    centred = X - X.mean(axis=0)
    if X.shape[1] <= n_components:
        return centred
    with single_threaded_blas():
        cov = centred.T @ centred / max(len(X) - 1, 1)
        _, vecs = np.linalg.eigh(cov)
        return centred @ vecs[:, ::-1][:, :n_components]
