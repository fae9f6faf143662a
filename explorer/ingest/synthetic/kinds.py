"""The mix of source kinds of the synthetic survey: the single source of truth.

What each kind looks like and how it is drawn is documented in
:mod:`explorer.ingest.synthetic`; the renderers live in
:mod:`~explorer.ingest.synthetic.galaxies`,
:mod:`~explorer.ingest.synthetic.pointlike` and
:mod:`~explorer.ingest.synthetic.artefacts`.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

#: Share of the survey of each kind (sums to 1). Common kinds first, then the
#: three with high-redshift-quasar-like colours, then the rare science kinds
#: and the rare artefacts (0.65 % each: >= 19 of each in 3 000 sources).
KIND_FRACTIONS: dict[str, float] = {
    "elliptical": 0.26,
    "disc": 0.35,
    "star": 0.213,
    "red_quasar": 0.04,
    "brown_dwarf": 0.04,
    "red_compact": 0.045,
    "ring": 0.0065,
    "lens_arc": 0.0065,
    "merger": 0.0065,
    "dust_lane": 0.0065,
    "cosmic_ray": 0.0065,
    "satellite_trail": 0.0065,
    "bad_column": 0.0065,
    "bleed_trail": 0.0065,
}
KINDS: tuple[str, ...] = tuple(KIND_FRACTIONS)
#: Rare astrophysical kinds: the targets of anomaly detection.
SCIENCE_KINDS: frozenset[str] = frozenset({"ring", "lens_arc", "merger", "dust_lane"})
#: Rare instrumental artefacts (drawn on top of an ordinary source).
ARTEFACT_KINDS: frozenset[str] = frozenset(
    {"cosmic_ray", "satellite_trail", "bad_column", "bleed_trail"}
)
#: All rare kinds (< 1 % each, 5.2 % together).
RARE_KINDS: frozenset[str] = SCIENCE_KINDS | ARTEFACT_KINDS
#: Kinds whose catalogue colours overlap (high-z quasar-like g dropouts).
HZQ_LIKE_KINDS: frozenset[str] = frozenset({"red_quasar", "brown_dwarf", "red_compact"})


def allocate(
    n: int, rng: np.random.Generator, fractions: Mapping[str, float] | None = None
) -> np.ndarray:
    """Kind index per source: exact fractions (largest remainder), shuffled.

    Every rare kind with a non-zero fraction gets at least one source once
    ``n >= 100``.

    Parameters
    ----------
    n : int
        Number of sources.
    rng : numpy.random.Generator
        Random stream (only the shuffle uses it).
    fractions : mapping of str to float, optional
        Share of each kind of :data:`KINDS` (default :data:`KIND_FRACTIONS`).

    Returns
    -------
    ndarray
        ``(n,)`` int index into :data:`KINDS`.
    """
    given = KIND_FRACTIONS if fractions is None else fractions
    frac = np.array([given[kind] for kind in KINDS])
    counts = np.floor(frac * n).astype(int)
    order = np.argsort(-(frac * n - counts), kind="stable")
    counts[order[: n - counts.sum()]] += 1
    if n >= 100:
        for i, kind in enumerate(KINDS):
            if kind in RARE_KINDS and counts[i] == 0 and frac[i] > 0:
                counts[i] = 1
                counts[np.argmax(counts)] -= 1
    labels = np.repeat(np.arange(len(KINDS)), counts)
    return rng.permutation(labels)
