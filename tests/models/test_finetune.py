"""Tests of models.finetune: cluster batches and cluster fine-tuning."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
import torch

from explorer.errors import DataError
from explorer.store import Store
from models.finetune import ClusterPositives, finetune


def test_cluster_batches(small_store, tiny_config):
    store = Store.open(small_store)
    ids = store.ids
    clusters = {"a": ids[:10], "b": ids[50:80], "tiny": ids[200:201]}
    config = tiny_config(bands=store.bands, cutout_size=store.cutout_size)
    positives = ClusterPositives(store, clusters, config, batch_size=16, seed=0)
    assert positives.names == ["a", "b"]  # "tiny" has one member
    raw, labels = positives.sample()
    assert raw.shape[1:] == (len(store.bands), store.cutout_size, store.cutout_size)
    members = labels < 2  # cluster labels 0, 1; non-members get labels >= 2
    counts = np.bincount(labels[members].numpy())
    assert (counts[counts > 0] >= 2).all() and members.sum() <= 16
    background = labels[~members].numpy()
    assert len(background) == 16 and len(set(background)) == 16
    rows = store.rows_of(ids[:10])
    np.testing.assert_array_equal(
        positives.cutouts[:10].numpy(), store.cutouts_at(rows)
    )
    with pytest.raises(DataError, match="2 or more members"):
        ClusterPositives(store, {"tiny": ids[:1]}, config)


def _cluster_contrast(checkpoint, store, rows):
    """Mean cosine similarity within ``rows`` minus that to all other sources."""
    from models.embed import embed_arrays

    h = embed_arrays(
        checkpoint, store.cutouts_at(np.arange(store.n_sources)), device="cpu"
    )
    inside = np.zeros(store.n_sources, dtype=bool)
    inside[rows] = True
    within = h[inside] @ h[inside].T
    within = within[~np.eye(len(rows), dtype=bool)].mean()
    return float(within - (h[inside] @ h[~inside].T).mean())


@pytest.mark.slow
def test_finetune_pulls_cluster_together(small_store, tiny_checkpoint, tmp_path):
    store = Store.open(small_store)
    # a user's cluster: the sources of one (hidden) kind, here the red quasars
    rows = np.flatnonzero(store.catalog["_truth_label"].to_numpy() == "red_quasar")
    assert len(rows) >= 10
    cluster = {"chosen": store.ids[rows]}
    digest = hashlib.sha256(tiny_checkpoint.read_bytes()).hexdigest()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        plain = finetune(
            store, tiny_checkpoint, tmp_path / "plain.pt", epochs=3, device="cpu"
        )
        pulled = finetune(
            store,
            tiny_checkpoint,
            tmp_path / "pulled.pt",
            epochs=3,
            clusters=cluster,
            cluster_weight=3.0,
            device="cpu",
            overrides={"batch_size": 48},
        )
    finally:
        torch.set_num_threads(threads)
    assert hashlib.sha256(tiny_checkpoint.read_bytes()).hexdigest() == digest
    assert plain["epochs"] == pulled["epochs"] == 4  # 1 base + 3
    assert pulled["config"]["batch_size"] == 48
    with_clusters = _cluster_contrast(tmp_path / "pulled.pt", store, rows)
    without = _cluster_contrast(tmp_path / "plain.pt", store, rows)
    # same seed and steps: only the cluster term differs
    assert with_clusters > without + 0.01, (with_clusters, without)


def test_finetune_rejects_bad_epochs(small_store, tiny_checkpoint, tmp_path):
    with pytest.raises(DataError, match="at least 1 epoch"):
        finetune(small_store, tiny_checkpoint, tmp_path / "x.pt", epochs=0)
