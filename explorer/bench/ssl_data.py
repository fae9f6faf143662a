"""The surveys ``bench ssl`` measures on: the synthetic presets, or a given store."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from explorer.errors import DataError
from explorer.store import Store

LABEL = "_truth_label"


def preset_store(preset: str, n: int, root: Path, size: int | None = None) -> Store:
    """Build ``n`` sources of a synthetic preset (its own size and seed) at ``root``.

    Parameters
    ----------
    preset : str
        A key of :data:`explorer.ingest.synthetic.PRESETS` (``demo``, ``second``).
    n : int
        Sources.
    root : pathlib.Path
        Store directory to create.
    size : int, optional
        Cutout side (default the preset's).

    Returns
    -------
    Store
    """
    from explorer.ingest.synthetic import BANDS, iter_survey
    from explorer.ingest.synthetic import preset as get_preset

    settings = get_preset(preset)
    side = size or settings.default_size
    seed = settings.default_seed
    source = f"synthetic preset {preset} n={n} size={side} seed={seed}"
    with Store.build(root, list(BANDS), side, source=source) as builder:
        for cube, catalog in iter_survey(
            n, size=side, seed=seed, batch=1024, settings=settings
        ):
            builder.append(cube, catalog)
    return builder.store


@dataclass
class Survey:
    """One survey under test: its store, raw cutouts, labels and held-out split."""

    name: str
    store: Store
    cutouts: np.ndarray  # (N, bands, S, S) float32
    labels: np.ndarray  # (N,) str
    train: np.ndarray  # rows the supervised reference learns from
    test: np.ndarray  # rows every method's held-out k-NN is scored on

    @classmethod
    def of(cls, name: str, store: Store, seed: int = 0) -> Survey:
        """Load ``store``'s cutouts and :data:`LABEL` column, split them.

        Raises
        ------
        DataError
            If the store has no :data:`LABEL` column.
        """
        from explorer.bench.ssl_eval import split_rows

        if LABEL not in store.catalog:
            msg = f"store {store.root} has no {LABEL!r} column to evaluate against"
            raise DataError(msg)
        labels = store.catalog[LABEL].astype(str).to_numpy()
        cutouts = store.cutouts_at(np.arange(store.n_sources)).astype(np.float32)
        train, test = split_rows(labels, test_fraction=0.2, seed=seed)
        return cls(name, store, cutouts, labels, train, test)

    def workload(self) -> dict[str, object]:
        """The survey's description for the result record."""
        kinds, counts = np.unique(self.labels, return_counts=True)
        source = str(self.store.manifest.get("source", self.store.root))
        return {
            "data": "synthetic" if "synthetic" in source else "real",
            "source": source,
            "n_sources": int(len(self.labels)),
            "cutout_size": int(self.cutouts.shape[-1]),
            "bands": list(self.store.bands),
            "kinds": {str(k): int(c) for k, c in zip(kinds, counts, strict=True)},
            "held_out": int(len(self.test)),
        }


def load_average() -> list[float]:
    """``os.getloadavg()`` rounded (the machine is shared: say how busy it was)."""
    return [round(v, 2) for v in os.getloadavg()]
