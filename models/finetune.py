"""Fine-tune a trained encoder, optionally with saved clusters as extra positives.

Fine-tuning continues :func:`models.train.train` from a checkpoint for ``N``
more epochs (``resume=True`` on a copy, so the original is never modified).
When clusters are given (the user's own selections, to improve the model)
every training step adds a *supervised-contrastive* term (Khosla et al. 2020)
on a batch drawn from the clusters: two augmented views of each sampled
member, where every other view of a member of the same cluster is a positive::

    L_sup = mean_i  -1/|P(i)| sum_{p in P(i)} log( exp(s_ip) / sum_{a != i} exp(s_ia) )

with ``s = cos(z_i, z_a) / temperature`` on the projector output ``z``.

With the user's labels (:class:`models.feedback.LabelFeedback`) two more
terms join: the Similar tab's "+" / "-" marked pairs
(:class:`models.feedback.MarkedPairs`, on the encoder output ``h``) and the
``interesting`` / ``artefact`` groups (the cluster term above, one group per
tag). The total loss is ``NT-Xent + cluster_weight * L_sup(clusters) +
label_weight * (L_pairs + L_sup(label groups))``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from explorer.errors import DataError
from explorer.store import Store
from models.checkpoint import (
    check_data_matches,
    config_of,
    load_checkpoint,
    save_checkpoint,
)
from models.config import TrainConfig
from models.feedback import LabelFeedback, MarkedPairs, group_clusters
from models.losses import supcon_loss
from models.train import train
from models.view_batches import ViewBatches

log = logging.getLogger(__name__)

#: Most cluster members held in memory for the supervised term.
MAX_MEMBERS = 20_000
#: Most non-member ("background") cutouts held in memory, and their byte budget.
MAX_BACKGROUND = 4096
BACKGROUND_BYTES = 64 * 2**20


def _member_rows(
    store: Store, clusters: Mapping[str, np.ndarray]
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Store rows ``(M,)``, cluster labels ``(M,)`` and names of the usable clusters.

    A source already in an earlier cluster is left out of later ones; a
    cluster left with fewer than 2 members is skipped.

    Raises
    ------
    DataError
        If no cluster has at least 2 members.
    """
    rows, labels, names = [], [], []
    seen: set[int] = set()
    for name, ids in clusters.items():
        cluster_rows = [r for r in store.rows_of(np.asarray(ids)) if int(r) not in seen]
        if len(cluster_rows) < 2:
            log.warning("cluster %r has fewer than 2 (new) members: not used", name)
            continue
        seen.update(int(r) for r in cluster_rows)
        rows.extend(cluster_rows)
        labels.extend([len(names)] * len(cluster_rows))
        names.append(name)
    if not names:
        msg = (
            f"none of the clusters {list(clusters)} has 2 or more members: "
            "save bigger clusters to use them as positives"
        )
        raise DataError(msg)
    return np.asarray(rows, np.int64), np.asarray(labels, np.int64), names


class ClusterPositives(ViewBatches):
    """Batches of saved-cluster members and the supervised-contrastive term.

    Parameters
    ----------
    store : Store
        The store the clusters' source ids belong to.
    clusters : mapping of str to array of int
        Cluster name -> member source ids. A source in several clusters
        counts for the first. Clusters with fewer than 2 members are skipped.
    config : TrainConfig
        Augmentation settings and temperature (the model's own).
    batch_size : int
        Members per step (two views each), plus as many random non-members
        whose only positive is their own second view: the negatives that
        make "same cluster" mean "closer than the rest".
    seed : int
        Sampling seed.

    Raises
    ------
    DataError
        If no cluster has at least 2 members.
    """

    def __init__(
        self,
        store: Store,
        clusters: Mapping[str, np.ndarray],
        config: TrainConfig,
        *,
        batch_size: int = 64,
        seed: int = 0,
    ) -> None:
        super().__init__(config, batch_size, seed)
        rows, labels, self.names = _member_rows(store, clusters)
        rows_arr, labels_arr = rows, labels
        if len(rows_arr) > MAX_MEMBERS:
            keep = np.sort(self.rng.choice(len(rows_arr), MAX_MEMBERS, replace=False))
            rows_arr, labels_arr = rows_arr[keep], labels_arr[keep]
        order = np.argsort(rows_arr)  # sorted rows read shard by shard
        self.labels = torch.as_tensor(labels_arr[order])
        # float32 bytes of one cutout: the background stays under BACKGROUND_BYTES
        per_cutout = len(store.bands) * store.cutout_size**2 * 4
        self.hold(
            store, rows_arr[order], min(MAX_BACKGROUND, BACKGROUND_BYTES // per_cutout)
        )
        log.info(
            "fine-tuning with %d cluster(s) as positives: %s (%d members)",
            len(self.names),
            ", ".join(self.names),
            len(self.rows),
        )

    def sample(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Raw cutouts ``(b, bands, S, S)`` and labels ``(b,)`` of one batch.

        Takes up to ``batch_size // 4`` clusters at random and the same number
        of random members from each, so every sampled member has in-cluster
        positives besides its own second view; then up to ``batch_size``
        random non-members, each with a label of its own.
        """
        n_clusters = len(self.names)
        chosen = self.rng.choice(
            n_clusters, min(n_clusters, max(self.batch_size // 4, 1)), replace=False
        )
        per = max(self.batch_size // len(chosen), 2)
        picks = []
        labels = self.labels.numpy()
        for c in chosen:
            members = np.flatnonzero(labels == c)
            picks.append(
                self.rng.choice(members, min(per, len(members)), replace=False)
            )
        index = torch.as_tensor(np.concatenate(picks))
        raw, labels = self.cutouts[index], self.labels[index]
        n_background = min(len(self.background), self.batch_size)
        if n_background:
            pick = torch.as_tensor(
                self.rng.choice(len(self.background), n_background, replace=False)
            )
            unique = torch.arange(n_background) + len(self.names)
            raw = torch.cat([raw, self.background[pick]])
            labels = torch.cat([labels, unique])
        return raw, labels

    def loss(
        self, model: torch.nn.Module, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """The supervised-contrastive term of one sampled batch for ``model``."""
        raw, labels = self.sample()
        _, z = self.forward_views(model, raw, generator)
        labels = torch.cat([labels, labels]).to(z.device)
        return supcon_loss(z, labels, self.config.temperature)


def _copy_checkpoint(
    store: Store,
    checkpoint: str | os.PathLike[str],
    out: str | os.PathLike[str],
    overrides: Mapping[str, Any] | None,
) -> tuple[TrainConfig, int]:
    """Copy ``checkpoint`` to ``out`` with ``overrides`` applied to its config.

    Returns
    -------
    config : TrainConfig
        The checkpoint's config with the (non-``None``) overrides.
    done : int
        Epochs the checkpoint has already completed.

    Raises
    ------
    CheckpointError
        If the checkpoint is unusable or does not fit the store.
    """
    state = load_checkpoint(checkpoint)
    config = config_of(state, checkpoint)
    check_data_matches(
        config, store.bands, store.cutout_size, f"store {store.root}", checkpoint
    )
    changes = {k: v for k, v in (overrides or {}).items() if v is not None}
    if changes:
        config = config.replace(**changes)
        state["config"] = config.to_dict()
    # save_checkpoint stamps these afresh
    for key in ("format", "format_version", "created"):
        state.pop(key, None)
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    save_checkpoint(out, state)
    return config, int(state.get("epoch", 0))


def _extra_terms(
    store: Store,
    config: TrainConfig,
    seed: int,
    clusters: Mapping[str, np.ndarray] | None,
    cluster_weight: float,
    labels: LabelFeedback | None,
    label_weight: float,
) -> tuple[Callable[[torch.nn.Module, int], torch.Tensor] | None, dict[str, Any]]:
    """The extra loss of every step and what it uses (for the provenance)."""
    batch = min(config.batch_size or 64, 128)
    terms: list[tuple[float, Any]] = []
    used: dict[str, Any] = {}
    if clusters:
        positives = ClusterPositives(
            store, clusters, config, batch_size=batch, seed=seed
        )
        terms.append((cluster_weight, positives))
        used.update(clusters=positives.names, cluster_members=len(positives.rows))
        used["cluster_weight"] = cluster_weight
    if labels:
        used["label_weight"] = label_weight
        if len(labels.pairs):
            pairs = MarkedPairs(
                store, labels.pairs, config, batch_size=batch, seed=seed
            )
            terms.append((label_weight, pairs))
            signs = pairs.signs
            used["positive_pairs"] = int((signs > 0).sum())
            used["negative_pairs"] = int((signs < 0).sum())
        groups = group_clusters(store, labels.groups)
        if groups:
            tagged = ClusterPositives(
                store, groups, config, batch_size=batch, seed=seed + 1
            )
            terms.append((label_weight, tagged))
            used["label_groups"] = {
                name.removeprefix("tag:"): int((tagged.labels == i).sum())
                for i, name in enumerate(tagged.names)
            }
    if not terms:
        return None, used

    def extra(model: torch.nn.Module, step: int) -> torch.Tensor:
        return sum(weight * term.loss(model) for weight, term in terms)

    return extra, used


def finetune(
    store: Store | str | os.PathLike[str],
    checkpoint: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    epochs: int,
    clusters: Mapping[str, np.ndarray] | None = None,
    cluster_weight: float = 1.0,
    labels: LabelFeedback | None = None,
    label_weight: float = 1.0,
    device: str = "auto",
    overrides: Mapping[str, Any] | None = None,
    progress: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Continue training ``checkpoint`` for ``epochs`` epochs into ``out``.

    Parameters
    ----------
    store : Store or path
        The store to train on (same bands and cutout size as the checkpoint).
    checkpoint : path-like
        The trained encoder (left unchanged).
    out : path-like
        The fine-tuned checkpoint (rewritten after every epoch).
    epochs : int
        Additional epochs (>= 1).
    clusters : mapping of str to array of int, optional
        Saved clusters whose members form extra positive pairs.
    cluster_weight : float
        Weight of the supervised-contrastive term.
    labels : LabelFeedback, optional
        Similar-tab marked pairs and interesting / artefact groups.
    label_weight : float
        Weight of the marked-pair and label-group terms.
    device : str
        ``"auto"``, ``"cpu"`` or ``"cuda"``.
    overrides : mapping, optional
        Runtime settings to change in the checkpoint's config (e.g.
        ``batch_size``, ``num_workers``, ``lr``, ``threads``).
    progress : callable, optional
        Passed to :func:`models.train.train` (a dict per step).

    Returns
    -------
    dict
        What :func:`models.train.train` returns, plus ``feedback``: what the
        extra terms used (cluster names and member count, ``positive_pairs``,
        ``negative_pairs``, ``label_groups`` sizes, weights; empty without).

    Raises
    ------
    DataError
        If ``epochs`` < 1, no cluster is usable, or no marked pair is in the
        store.
    CheckpointError
        If the checkpoint is unusable or does not fit the store.
    """
    if int(epochs) < 1:
        msg = f"fine-tuning needs at least 1 epoch, got {epochs}"
        raise DataError(msg)
    store = store if isinstance(store, Store) else Store.open(store)
    config, done = _copy_checkpoint(store, checkpoint, out, overrides)
    extra, used = _extra_terms(
        store,
        config,
        config.seed + done,
        clusters,
        cluster_weight,
        labels,
        label_weight,
    )
    log.info(
        "fine-tuning %s for %d epoch(s) (%d done) into %s",
        checkpoint,
        epochs,
        done,
        out,
    )
    result = train(
        store,
        out,
        config.replace(epochs=done + int(epochs)),
        device=device,
        resume=True,
        progress=progress,
        extra_loss=extra,
    )
    return {**result, "feedback": used}
