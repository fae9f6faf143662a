"""Weighted pair counts of many resamples of one small point set at once.

A bootstrap or jackknife resample keeps the points and changes only their
multiplicities ``w``, so its ordered-pair count in bin ``k`` is

    DD_k(w) = 2 * sum_{i < j, d_ij in (e_k, e_k+1]} w_i w_j,

a quadratic form of ``w`` over the pairs of that bin. :class:`BinnedPairs`
finds the pairs and their bins once (``scipy.spatial.distance.pdist``) and
evaluates the form for every resample together with one sparse product,
instead of one tree count (:func:`~explorer.analysis.tpcf_pairs.pair_counts_tree`)
per resample: the same counts (tested equal), several times faster up to
the thousand points the live panel resamples this way (above, the FFT grid
counter of :class:`~explorer.analysis.tpcf_pairs.GridPairCounter` is used).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Above this many points the pair list (n^2 / 2 entries) is not built.
MAX_POINTS = 2000


@dataclass(frozen=True)
class BinnedPairs:
    """The pairs of a point set, each with its separation bin.

    Build with :meth:`build`; :meth:`counts` then gives the pair counts of
    any number of weightings of the same points.

    Attributes
    ----------
    n, n_bins : int
        Points and separation bins.
    matrix : scipy.sparse.csr_matrix
        ``(n, n * n_bins)``: entry ``(i, k * n + j)`` is 1 when ``i < j`` and
        ``d_ij`` lies in bin ``k``.
    """

    n: int
    n_bins: int
    matrix: object

    @classmethod
    def build(cls, Y: np.ndarray, edges: np.ndarray) -> BinnedPairs:
        """Pairs of the ``(n, d)`` points ``Y`` in the bins ``(e_k, e_k+1]``.

        Raises
        ------
        ValueError
            If ``Y`` has more than :data:`MAX_POINTS` points.
        """
        import scipy.sparse as sp
        from scipy.spatial.distance import pdist

        n = len(Y)
        if n > MAX_POINTS:
            msg = f"{n} points: more than the {MAX_POINTS} a pair list is built for"
            raise ValueError(msg)
        n_bins = len(edges) - 1
        # bin k holds e_k < d <= e_k+1, the convention of count_neighbors' d <= r
        bins = np.searchsorted(edges, pdist(Y), side="left") - 1
        i, j = np.triu_indices(n, 1)
        keep = (bins >= 0) & (bins < n_bins)
        columns = bins[keep] * n + j[keep]
        matrix = sp.csr_matrix(
            (np.ones(int(keep.sum())), (i[keep], columns)), shape=(n, n * n_bins)
        )
        return cls(n, n_bins, matrix)

    def counts(self, weights: np.ndarray) -> np.ndarray:
        """Ordered-pair counts ``i != j`` per bin, each pair weighted ``w_i w_j``.

        Parameters
        ----------
        weights : ndarray
            ``(n,)`` multiplicities, or ``(R, n)`` for ``R`` resamples.

        Returns
        -------
        ndarray
            ``(n_bins,)`` or ``(R, n_bins)`` float64 counts.
        """
        w = np.atleast_2d(np.asarray(weights, dtype=np.float64))
        # (R, n) @ (n, n * n_bins): for each resample and bin, sum_i w_i [pair]
        partial = np.asarray((self.matrix.T @ w.T).T).reshape(
            len(w), self.n_bins, self.n
        )
        out = 2.0 * np.einsum("rkj,rj->rk", partial, w)
        return out[0] if np.ndim(weights) == 1 else out


__all__ = ["MAX_POINTS", "BinnedPairs"]
