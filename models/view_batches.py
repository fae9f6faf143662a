"""What the fine-tuning terms share: sources held in memory, seen in two views.

:class:`models.finetune.ClusterPositives` (saved clusters) and
:class:`models.feedback.MarkedPairs` (Similar-tab marks) both hold the
cutouts of their labelled sources plus a seeded background of unlabelled
ones, and pass a sampled batch through the model as two augmented views;
they differ in how a batch is sampled and scored.
"""

from __future__ import annotations

import numpy as np
import torch

from explorer.store import Store
from models.augment import TwoViews, ViewAugment, linearise
from models.config import TrainConfig
from models.device import autocast


class ViewBatches:
    """Labelled and background cutouts in memory, and their two-view forward pass.

    Parameters
    ----------
    config : TrainConfig
        Augmentation settings and temperature (the model's own).
    batch_size : int
        Labelled sources per step (at least 2).
    seed : int
        Sampling seed (of :attr:`rng`, which also draws the background).
    """

    def __init__(self, config: TrainConfig, batch_size: int, seed: int) -> None:
        self.config = config
        self.batch_size = max(int(batch_size), 2)
        self.rng = np.random.default_rng(seed)

    def hold(self, store: Store, rows: np.ndarray, max_background: int) -> None:
        """Load the cutouts of sorted ``rows`` and of a random background.

        Parameters
        ----------
        store : Store
            The store.
        rows : ndarray
            Sorted store rows of the labelled sources (read shard by shard).
        max_background : int
            Most unlabelled sources drawn (without replacement) as background.
        """
        self.rows = rows
        self.cutouts = torch.from_numpy(store.cutouts_at(rows))
        others = np.setdiff1d(np.arange(store.n_sources), rows)
        n_background = min(len(others), max_background)
        self.background_rows = np.sort(
            self.rng.choice(others, n_background, replace=False)
        )
        self.background = torch.from_numpy(store.cutouts_at(self.background_rows))
        self.views = TwoViews(ViewAugment(self.config))

    def forward_views(
        self,
        model: torch.nn.Module,
        raw: torch.Tensor,
        generator: torch.Generator | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``model``'s ``(h, z)`` of both augmented views of raw cutouts.

        Parameters
        ----------
        model : torch.nn.Module
            The encoder (returns ``(h, z)``).
        raw : Tensor
            ``(b, bands, S, S)`` raw cutouts.
        generator : torch.Generator, optional
            Of the augmentations.

        Returns
        -------
        (Tensor, Tensor)
            ``(2b, D)`` ``h`` and ``(2b, P)`` ``z``: first views, then second.
        """
        device = next(model.parameters()).device
        x = linearise(raw.to(device))
        with torch.no_grad():
            v1, v2 = self.views(x, generator)
        with autocast(device):
            return model(torch.cat([v1, v2]))
