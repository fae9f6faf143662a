"""Tests of models.finetune: supervised-contrastive term and cluster fine-tuning."""

from __future__ import annotations

import hashlib
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from explorer.errors import DataError  # noqa: E402
from explorer.store import Store  # noqa: E402
from models.finetune import ClusterPositives, finetune, supcon_loss  # noqa: E402
from models.loss import nt_xent  # noqa: E402


def _reference_supcon(z, labels, temperature):
    """Khosla et al. eq. 2 written out with Python loops."""
    z = [[x / math.sqrt(sum(y * y for y in v)) for x in v] for v in z.tolist()]
    labels = labels.tolist()
    n, total, anchors = len(z), 0.0, 0

    def sim(a, b):
        return sum(x * y for x, y in zip(z[a], z[b], strict=True)) / temperature

    for i in range(n):
        positives = [p for p in range(n) if p != i and labels[p] == labels[i]]
        if not positives:
            continue
        denom = sum(math.exp(sim(i, a)) for a in range(n) if a != i)
        total += -sum(math.log(math.exp(sim(i, p)) / denom) for p in positives) / len(
            positives
        )
        anchors += 1
    return total / anchors


def test_supcon_matches_hand_computed_reference():
    gen = torch.Generator().manual_seed(0)
    z = torch.randn(7, 5, generator=gen)
    labels = torch.tensor([0, 0, 1, 1, 1, 2, 3])  # labels 2 and 3 have no positive
    got = supcon_loss(z, labels, temperature=0.3)
    assert float(got) == pytest.approx(_reference_supcon(z, labels, 0.3), rel=1e-5)


def test_supcon_with_pair_labels_is_nt_xent():
    gen = torch.Generator().manual_seed(1)
    z1, z2 = torch.randn(6, 8, generator=gen), torch.randn(6, 8, generator=gen)
    labels = torch.cat([torch.arange(6), torch.arange(6)])
    assert float(supcon_loss(torch.cat([z1, z2]), labels, 0.2)) == pytest.approx(
        float(nt_xent(z1, z2, 0.2)), rel=1e-5
    )


def test_supcon_without_positives_is_zero_with_gradient():
    z = torch.randn(4, 3, requires_grad=True)
    loss = supcon_loss(z, torch.arange(4))
    loss.backward()
    assert float(loss.detach()) == 0.0 and z.grad is not None
    with pytest.raises(ValueError, match="do not match"):
        supcon_loss(z, torch.arange(3))


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
