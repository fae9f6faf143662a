"""Tests of models.memory: training cutouts held in memory, linearised once."""

from __future__ import annotations

import numpy as np
import torch

from explorer.store import Store
from models.augment import linearise
from models.memory import MemoryBatches, fits_in_memory, load_linearised


def test_loaded_rows_are_the_linearised_store_rows(small_store):
    rows = np.array([3, 17, 200, 399])
    got = load_linearised(small_store, rows, torch.device("cpu"))
    raw = torch.from_numpy(Store.open(small_store).cutouts_at(rows).astype(np.float32))
    assert torch.allclose(got, linearise(raw))


def test_batches_cover_each_row_once_per_epoch_and_reshuffle(small_store):
    rows = np.arange(0, 400, 2)
    data = MemoryBatches(small_store, 64, rows=rows, seed=5)
    assert len(data) == 3 and data.linearised  # 200 // 64, last batch dropped
    seen = [r.numpy() for r, _ in data]
    flat = np.concatenate(seen)
    assert len(flat) == 192 and len(np.unique(flat)) == 192
    assert np.isin(flat, rows).all()
    r0, x0 = next(iter(data))
    whole = load_linearised(small_store, r0.numpy(), torch.device("cpu"))
    assert torch.equal(x0, whole)  # each batch is its rows' cutouts
    data.set_epoch(1)
    assert not np.array_equal(next(iter(data))[0].numpy(), seen[0])


def test_fits_in_memory_counts_float32_bytes(monkeypatch):
    import models.memory as memory

    monkeypatch.setattr(memory, "physical_memory", lambda: 4 * 1000 * 3 * 64 * 64 * 4)
    cpu = torch.device("cpu")
    assert fits_in_memory(1000, (3, 64, 64), cpu)  # exactly a quarter
    assert not fits_in_memory(1001, (3, 64, 64), cpu)
