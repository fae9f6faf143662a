"""A simulated astronomer: labels the top of a queue one source at a time.

Used by ``latentsky bench active`` to compare orderings on a survey with
known kinds: the user calls one kind ``interesting``, artefacts
``artefact`` and everything else ``boring``, looks at the first source of
the queue, labels it, and the queue re-ranks before the next look.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

from explorer.active.acquisition import acquisition_order
from explorer.active.relevance import LABEL_VALUES, RelevanceModel


def truth_tags(
    kinds: np.ndarray, interesting: str, artefacts: Iterable[str]
) -> np.ndarray:
    """The tag a user hunting ``interesting`` gives each source, ``(N,)`` str."""
    kinds = np.asarray(kinds).astype(str)
    tags = np.full(kinds.shape, "boring", dtype=object)
    tags[np.isin(kinds, list(artefacts))] = "artefact"
    tags[kinds == interesting] = "interesting"
    return tags


def density_views(anomaly_score: np.ndarray, budget: int) -> np.ndarray:
    """Rows a user sees with the fixed anomaly ranking: the top ``budget``."""
    order = np.argsort(-np.asarray(anomaly_score, dtype=np.float64), kind="stable")
    return order[:budget]


def active_views(
    model: RelevanceModel,
    tags: np.ndarray,
    budget: int,
    explore_every: int = 0,
) -> np.ndarray:
    """Rows a user sees when the queue re-ranks after every label.

    Parameters
    ----------
    model : RelevanceModel
        Fitted, with no labels.
    tags : ndarray
        ``(N,)`` the tag the user would give each source.
    budget : int
        Sources viewed.
    explore_every : int
        Every ``explore_every``-th view comes from the explore queue (0:
        exploit only).

    Returns
    -------
    ndarray
        ``(budget,)`` int64 rows in viewing order.
    """
    return sequential_views(
        lambda step: _next(model, step, explore_every),
        lambda row: model.label([row], LABEL_VALUES[tags[row]]),
        budget,
    )


def _next(model: RelevanceModel, step: int, explore_every: int) -> int:
    explore = explore_every > 0 and step % explore_every == explore_every - 1
    return int(acquisition_order(model, 1, "explore" if explore else "exploit")[0])


def sequential_views(
    choose: Callable[[int], int], learn: Callable[[int], None], budget: int
) -> np.ndarray:
    """The view-label loop: ``choose(step) -> row``, then ``learn(row)``."""
    viewed = np.empty(budget, dtype=np.int64)
    for step in range(budget):
        viewed[step] = choose(step)
        learn(int(viewed[step]))
    return viewed


def found(viewed: np.ndarray, tags: np.ndarray) -> int:
    """How many of the viewed sources are interesting."""
    return int(np.sum(np.asarray(tags)[viewed] == "interesting"))
