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


def _marked_pairs(store, h, n=40):
    """Marks a user would make: "+" for the same-kind pairs the encoder puts
    furthest apart, "-" for the different-kind pairs it puts closest."""
    kinds = store.catalog["_truth_label"].to_numpy()
    a, b = np.triu_indices(store.n_sources, 1)
    cos = (h[a] * h[b]).sum(axis=1)
    same = kinds[a] == kinds[b]
    pos = np.flatnonzero(same)[np.argsort(cos[same])[:n]]
    neg = np.flatnonzero(~same)[np.argsort(cos[~same])[-n:]]
    ids = store.ids
    rows = [[ids[a[k]], ids[b[k]], 1] for k in pos]
    rows += [[ids[a[k]], ids[b[k]], -1] for k in neg]
    return np.asarray(rows, np.int64)


def _pair_cosines(checkpoint, store, pairs):
    """Mean cosine similarity of the "+" and of the "-" pairs."""
    from models.embed import embed_arrays

    h = embed_arrays(
        checkpoint, store.cutouts_at(np.arange(store.n_sources)), device="cpu"
    )
    rows = store.rows_of(pairs[:, :2].ravel()).reshape(-1, 2)
    cos = (h[rows[:, 0]] * h[rows[:, 1]]).sum(axis=1)
    return float(cos[pairs[:, 2] > 0].mean()), float(cos[pairs[:, 2] < 0].mean())


@pytest.mark.slow
def test_finetune_with_marks_pulls_plus_and_pushes_minus(
    small_store, tiny_checkpoint, tmp_path
):
    from models.embed import embed_arrays
    from models.feedback import LabelFeedback

    store = Store.open(small_store)
    h0 = embed_arrays(
        tiny_checkpoint, store.cutouts_at(np.arange(store.n_sources)), device="cpu"
    )
    pairs = _marked_pairs(store, h0)
    interesting = store.ids[
        store.catalog["_truth_label"].to_numpy() == "red_quasar"
    ].tolist()
    labels = LabelFeedback.from_spec(
        {"pairs": pairs.tolist(), "groups": {"interesting": interesting}}
    )
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        finetune(store, tiny_checkpoint, tmp_path / "plain.pt", epochs=1, device="cpu")
        result = finetune(
            store,
            tiny_checkpoint,
            tmp_path / "marked.pt",
            epochs=1,
            labels=labels,
            device="cpu",
        )
    finally:
        torch.set_num_threads(threads)
    assert result["feedback"] == {
        "label_weight": 1.0,
        "positive_pairs": 40,
        "negative_pairs": 40,
        "label_groups": {"interesting": len(interesting)},
    }
    start = _pair_cosines(tiny_checkpoint, store, pairs)
    plain = _pair_cosines(tmp_path / "plain.pt", store, pairs)
    marked = _pair_cosines(tmp_path / "marked.pt", store, pairs)
    # against the start and against the same steps without the marks
    assert marked[0] > max(start[0], plain[0]) + 0.02, (start, plain, marked)
    assert marked[1] < min(start[1], plain[1]) - 0.005, (start, plain, marked)
