"""Fine-tuning terms from the user's labels: Similar-tab marks and tags.

Two kinds of feedback, both resolved from the annotations when the job
starts (the worker reads no database):

- **marked pairs** ``(query_id, id, sign)``: "+" pulls the two sources
  together, "-" pushes them apart. :class:`MarkedPairs` samples batches of
  marked pairs plus random unmarked sources and scores them with
  :func:`models.losses.pairs.marked_pair_loss` on the encoder output ``h``,
  the representation the Similar tab searches (the SimCLR loss works on the
  projector output ``z``; supervising ``h`` directly is how retrieval
  networks are fine-tuned from matching / non-matching pairs, Radenović et
  al. 2018).
- **label groups** (``interesting``, ``artefact``): sources sharing a label
  are positives of each other through the supervised-contrastive cluster
  term of :class:`models.finetune.ClusterPositives`. ``boring`` is not a
  group: it means "everything else", a mix of every ordinary kind, and
  pulling it together would erase the structure the map shows.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from explorer.errors import DataError
from explorer.store import Store
from models.config import TrainConfig
from models.losses.pairs import marked_pair_loss
from models.view_batches import ViewBatches

log = logging.getLogger(__name__)

#: Tags whose sources are positives of each other.
GROUP_TAGS = ("interesting", "artefact")
#: Most marked sources held in memory.
MAX_MARKED = 20_000
#: Weight of a "-" source in the denominator (see marked_pair_loss). Chosen
#: on the demo survey (400 sources, 80 marked pairs, 1-2 epochs): 1, 4 and 16
#: moved the marked pairs about equally (the softmax share of a close "-"
#: result already dominates); 4 is a mild emphasis that never hurt there.
HARD_NEGATIVE_WEIGHT = 4.0


@dataclass
class LabelFeedback:
    """The labels a fine-tuning job uses, as resolved at its start.

    Attributes
    ----------
    pairs : ndarray
        ``(P, 3)`` int64 rows ``query_id, id, sign`` (sign +1 or -1), one per
        unordered pair.
    groups : dict of str to ndarray
        Tag -> source ids (``interesting``, ``artefact``).
    """

    pairs: np.ndarray = field(default_factory=lambda: np.zeros((0, 3), np.int64))
    groups: dict[str, np.ndarray] = field(default_factory=dict)

    @classmethod
    def from_spec(cls, spec: Mapping | None) -> LabelFeedback:
        """From a job spec's ``label_feedback`` (``{"pairs": [[q, id, s]...],
        "groups": {tag: [ids]}}``); empty for None."""
        spec = spec or {}
        pairs = np.asarray(spec.get("pairs") or np.zeros((0, 3)), np.int64)
        if pairs.ndim != 2 or pairs.shape[1] != 3:
            msg = f"label_feedback pairs have shape {pairs.shape}, expected (P, 3)"
            raise DataError(msg)
        groups = {
            str(tag): np.asarray(ids, np.int64)
            for tag, ids in (spec.get("groups") or {}).items()
        }
        return cls(pairs=pairs, groups=groups)

    def counts(self) -> dict[str, int]:
        """``positive_pairs``, ``negative_pairs`` and ``<tag>_sources`` counts."""
        signs = self.pairs[:, 2] if len(self.pairs) else np.zeros(0, np.int64)
        out = {
            "positive_pairs": int((signs > 0).sum()),
            "negative_pairs": int((signs < 0).sum()),
        }
        out.update({f"{t}_sources": len(ids) for t, ids in self.groups.items()})
        return out

    def __bool__(self) -> bool:
        return bool(len(self.pairs)) or any(len(v) >= 2 for v in self.groups.values())


def _pairs_in_store(store: Store, pairs: np.ndarray) -> np.ndarray:
    """The pairs whose two sources are both in ``store`` (others logged, dropped)."""
    known = np.isin(pairs[:, :2], store.ids).all(axis=1)
    if not known.all():
        log.warning(
            "%d marked pair(s) name sources not in store %s: not used",
            int((~known).sum()),
            store.root,
        )
    return pairs[known]


class MarkedPairs(ViewBatches):
    """Batches of marked pairs and their contrastive term.

    Parameters
    ----------
    store : Store
        The store the pairs' source ids belong to.
    pairs : ndarray
        ``(P, 3)`` int64 rows ``query_id, id, sign``.
    config : TrainConfig
        Augmentation settings and temperature (the model's own).
    batch_size : int
        Pairs per step (two views of each source), plus as many random
        unmarked sources: the rest of the sky a "+" result must be closer
        than.
    seed : int
        Sampling seed.

    Raises
    ------
    DataError
        If no pair has both sources in the store.
    """

    def __init__(
        self,
        store: Store,
        pairs: np.ndarray,
        config: TrainConfig,
        *,
        batch_size: int = 64,
        seed: int = 0,
    ) -> None:
        super().__init__(config, batch_size, seed)
        pairs = _pairs_in_store(store, np.asarray(pairs, np.int64).reshape(-1, 3))
        if not len(pairs):
            msg = f"no marked pair has both sources in store {store.root}"
            raise DataError(msg)
        endpoint_rows = store.rows_of(pairs[:, :2].ravel())
        unique, inverse = np.unique(endpoint_rows, return_inverse=True)
        if len(unique) > MAX_MARKED:
            msg = f"{len(unique)} marked sources, more than {MAX_MARKED} fit in memory"
            raise DataError(msg)
        self.ends = inverse.reshape(-1, 2)  # (P, 2) indices into self.rows
        self.signs = pairs[:, 2]
        self.hold(store, unique, 4 * self.batch_size)
        log.info(
            "fine-tuning with %d '+' and %d '-' marked pair(s) over %d sources",
            int((self.signs > 0).sum()),
            int((self.signs < 0).sum()),
            len(self.rows),
        )

    def sample(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """One batch: raw cutouts ``(b, bands, S, S)`` and two ``(b, b)`` masks.

        Returns
        -------
        raw : Tensor
            The marked sources of up to ``batch_size`` random pairs, then up
            to ``batch_size`` random unmarked sources.
        positive, hard_negative : Tensor
            bool, symmetric: ``[i, j]`` when sources ``i`` and ``j`` were
            marked "+" (resp. "-") together.
        """
        n_pairs = min(len(self.signs), self.batch_size)
        chosen = self.rng.choice(len(self.signs), n_pairs, replace=False)
        ends, signs = self.ends[chosen], self.signs[chosen]
        items, local = np.unique(ends.ravel(), return_inverse=True)
        local = local.reshape(-1, 2)
        m = len(items)
        n_background = min(len(self.background), self.batch_size)
        size = m + n_background
        positive = torch.zeros(size, size, dtype=torch.bool)
        negative = torch.zeros(size, size, dtype=torch.bool)
        for (a, b), sign in zip(local, signs, strict=True):
            mask = positive if sign > 0 else negative
            mask[a, b] = mask[b, a] = True
        negative &= ~positive  # one unordered pair, one sign (resolved upstream)
        raw = self.cutouts[torch.as_tensor(items)]
        if n_background:
            pick = self.rng.choice(len(self.background), n_background, replace=False)
            raw = torch.cat([raw, self.background[torch.as_tensor(pick)]])
        return raw, positive, negative

    def loss(
        self, model: torch.nn.Module, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """The marked-pair term of one sampled batch for ``model``.

        Both augmented views of every source enter: a source's other view is
        always one of its positives (so an anchor with only "-" marks still
        has a numerator), and a "+" / "-" mark joins all four view pairs.
        """
        raw, positive, negative = self.sample()
        h, _ = self.forward_views(model, raw, generator)
        device = h.device
        n = len(raw)
        same = torch.eye(n, dtype=torch.bool)
        pos = (positive | same).repeat(2, 2) & ~torch.eye(2 * n, dtype=torch.bool)
        neg = negative.repeat(2, 2)
        return marked_pair_loss(
            h,
            pos.to(device),
            neg.to(device),
            self.config.temperature,
            negative_weight=HARD_NEGATIVE_WEIGHT,
        )


def group_clusters(
    store: Store, groups: Mapping[str, Sequence[int] | np.ndarray]
) -> dict[str, np.ndarray]:
    """The label groups usable as clusters: in the store, with >= 2 sources."""
    usable = {}
    for tag, ids in groups.items():
        ids = np.asarray(ids, np.int64)
        ids = ids[np.isin(ids, store.ids)]
        if len(ids) >= 2:
            usable[f"tag:{tag}"] = ids
        else:
            log.info("label %r has fewer than 2 sources in the store: not used", tag)
    return usable
