"""Which source to show next: exploit (most likely interesting) or explore.

- ``exploit``: highest relevance first;
- ``explore``: highest ``relevance x uncertainty`` first -- the promising
  sources farthest from anything labelled, where the model knows least.
  Plain uncertainty would send the user to the emptiest parts of the
  embedding, which are mostly faint ordinary sources; weighting by the
  relevance keeps the search where the anomaly score and the labels say it
  may pay off.

Labelled sources are never queued again.
"""

from __future__ import annotations

import numpy as np

from explorer.active.relevance import RelevanceModel
from explorer.errors import DataError

MODES = ("exploit", "explore")


def acquisition_score(model: RelevanceModel, mode: str = "exploit") -> np.ndarray:
    """``(N,)`` float64 acquisition value of every source (higher = sooner).

    Raises
    ------
    DataError
        If ``mode`` is not one of :data:`MODES`.
    """
    if mode not in MODES:
        msg = f"queue mode {mode!r} is not one of {MODES}"
        raise DataError(msg)
    score = model.relevance()
    if mode == "explore":
        score = score * model.uncertainty()
    return score


def acquisition_order(
    model: RelevanceModel, n: int = 100, mode: str = "exploit"
) -> np.ndarray:
    """Rows of the next ``n`` sources to show, best first, labelled ones left out.

    Only the top ``n`` are sorted (``argpartition``), so a queue of 1 M
    sources costs one linear pass; ties among the chosen are in row order.

    Parameters
    ----------
    model : RelevanceModel
        A fitted model.
    n : int
        Queue length (fewer when fewer unlabelled sources remain).
    mode : {"exploit", "explore"}
        Acquisition (module docstring).

    Returns
    -------
    ndarray
        ``(<= n,)`` int64 rows.
    """
    score = acquisition_score(model, mode)
    labelled = model.labelled_rows()
    if labelled.size:
        score = score.copy()
        score[labelled] = -np.inf
    n_free = model.n_sources - labelled.size
    n = int(max(min(n, n_free), 0))
    if n == 0:
        return np.empty(0, dtype=np.int64)
    top = np.argpartition(-score, n - 1)[:n] if n < len(score) else np.arange(n)
    # stable sort of (score desc, row asc) among the chosen
    order = np.lexsort((top, -score[top]))
    return top[order].astype(np.int64)
