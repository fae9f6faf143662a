"""Tests of models.view_batches: held cutouts, background and the view pass."""

from __future__ import annotations

import numpy as np
import torch

from explorer.store import Store
from models.view_batches import ViewBatches


def test_hold_draws_a_disjoint_sorted_background(small_store, tiny_config):
    store = Store.open(small_store)
    config = tiny_config(bands=store.bands, cutout_size=store.cutout_size)
    batches = ViewBatches(config, batch_size=1, seed=0)
    assert batches.batch_size == 2  # at least two per step
    rows = np.array([3, 9, 40])
    batches.hold(store, rows, max_background=25)
    np.testing.assert_array_equal(batches.cutouts.numpy(), store.cutouts_at(rows))
    background = batches.background_rows
    assert len(background) == 25 and len(set(background)) == 25
    assert (np.diff(background) > 0).all()
    assert not set(background) & set(rows)
    np.testing.assert_array_equal(
        batches.background.numpy(), store.cutouts_at(background)
    )
    # more background asked than there are other sources: all of them
    batches.hold(store, rows, max_background=10**6)
    assert len(batches.background_rows) == store.n_sources - 3


def test_forward_views_gives_both_views(small_store, tiny_checkpoint):
    from models.encode import load_model

    store = Store.open(small_store)
    model, config, _ = load_model(tiny_checkpoint, torch.device("cpu"))
    batches = ViewBatches(config, batch_size=4, seed=0)
    batches.hold(store, np.arange(4), max_background=4)
    h, z = batches.forward_views(
        model, batches.cutouts, torch.Generator().manual_seed(0)
    )
    assert h.shape == (8, config.embedding_dim)
    assert len(z) == 8
    # two different augmentations of the same source: not the same h
    assert not torch.allclose(h[:4], h[4:])
