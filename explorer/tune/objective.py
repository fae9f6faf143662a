"""A label-free score of a representation: can a source find its own other view?

The sky has no "up", so a cutout turned by 90 degrees, mirrored or shifted by
a pixel shows the same source. A useful representation maps such a view next
to the original *and* keeps sources apart: among ``M`` sources, the nearest
neighbour (cosine) of a source's transformed view should be the source
itself. :func:`view_retrieval` is that top-1 retrieval rate, averaged over a
fixed set of exact pixel transforms (:data:`TRANSFORMS`); being fixed, they do
not depend on the augmentations a trial trains with, so trials are compared on
equal terms. It needs no labels (seed 003 asks for such a measure).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def _turn_flip(x: np.ndarray) -> np.ndarray:
    return np.rot90(x, 1, axes=(-2, -1))[..., ::-1]


def _turn_shift(x: np.ndarray) -> np.ndarray:
    return np.roll(np.rot90(x, 3, axes=(-2, -1)), (1, -1), axis=(-2, -1))


#: exact pixel transforms of raw ``(n, bands, S, S)`` cutouts
TRANSFORMS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "rot90+flip": _turn_flip,
    "rot270+shift1": _turn_shift,
}


def retrieval_rate(a: np.ndarray, b: np.ndarray) -> float:
    """Fraction of rows ``i`` of ``a`` whose cosine-nearest row of ``b`` is ``i``.

    Parameters
    ----------
    a, b : ndarray
        ``(M, D)`` embeddings of the same ``M`` sources under two views.

    Returns
    -------
    float
        In ``[0, 1]``; ``1 / M`` is chance.

    Raises
    ------
    ValueError
        If the shapes differ or ``M < 2``.
    """
    if a.shape != b.shape or a.ndim != 2 or len(a) < 2:
        msg = f"need two (M >= 2, D) arrays of one shape, got {a.shape} and {b.shape}"
        raise ValueError(msg)
    a = a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)
    b = b / np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-12)
    nearest = np.argmax(a @ b.T, axis=1)
    return float(np.mean(nearest == np.arange(len(a))))


def view_retrieval(
    cutouts: np.ndarray, encode: Callable[[np.ndarray], np.ndarray]
) -> float:
    """Mean :func:`retrieval_rate` of ``cutouts`` against each of :data:`TRANSFORMS`.

    Parameters
    ----------
    cutouts : ndarray
        ``(M, bands, S, S)`` raw cutouts (a fixed evaluation sample).
    encode : callable
        Raw cutouts -> ``(M, D)`` representations.

    Returns
    -------
    float
        The label-free objective (higher is better).
    """
    base = encode(cutouts)
    rates = [
        retrieval_rate(base, encode(np.ascontiguousarray(t(cutouts))))
        for t in TRANSFORMS.values()
    ]
    return float(np.mean(rates))
