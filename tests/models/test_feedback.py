"""Tests of models.feedback: label feedback, marked-pair batches, label groups."""

from __future__ import annotations

import numpy as np
import pytest

from explorer.errors import DataError
from explorer.store import Store
from models.feedback import LabelFeedback, MarkedPairs, group_clusters


def test_label_feedback_from_spec_and_counts():
    spec = {"pairs": [[1, 2, 1], [1, 3, -1], [4, 5, -1]], "groups": {"artefact": [7]}}
    feedback = LabelFeedback.from_spec(spec)
    assert feedback.pairs.shape == (3, 3) and feedback.pairs.dtype == np.int64
    assert feedback.counts() == {
        "positive_pairs": 1,
        "negative_pairs": 2,
        "artefact_sources": 1,
    }
    assert feedback
    assert not LabelFeedback.from_spec(None)
    assert not LabelFeedback.from_spec({"groups": {"interesting": [3]}})  # 1 source
    with pytest.raises(DataError, match=r"expected \(P, 3\)"):
        LabelFeedback.from_spec({"pairs": [[1, 2]]})


def _row_of(raw, cutouts):
    """The store row whose cutout is exactly ``raw``."""
    match = np.flatnonzero((cutouts == raw[None]).all(axis=(1, 2, 3)))
    assert len(match) == 1
    return int(match[0])


def test_marked_pair_batches(small_store, tiny_config):
    store = Store.open(small_store)
    ids = store.ids
    pairs = np.array(
        [
            [ids[0], ids[1], 1],
            [ids[0], ids[2], -1],
            [ids[5], ids[1], 1],
            [ids[0], 10**12, 1],  # not in the store: dropped
        ]
    )
    config = tiny_config(bands=store.bands, cutout_size=store.cutout_size)
    marked = MarkedPairs(store, pairs, config, batch_size=8, seed=0)
    assert marked.signs.tolist() == [1, -1, 1]
    np.testing.assert_array_equal(marked.rows, [0, 1, 2, 5])
    assert not np.isin(marked.background_rows, marked.rows).any()
    raw, positive, negative = marked.sample()
    assert len(raw) == 4 + 8  # the 4 marked sources, then 8 unmarked ones
    everything = store.cutouts_at(np.arange(store.n_sources))
    rows = [_row_of(r, everything) for r in raw.numpy()]
    assert sorted(rows[:4]) == [0, 1, 2, 5] and not set(rows[4:]) & {0, 1, 2, 5}
    got_pos = {tuple(sorted((rows[a], rows[b]))) for a, b in positive.nonzero()}
    got_neg = {tuple(sorted((rows[a], rows[b]))) for a, b in negative.nonzero()}
    assert got_pos == {(0, 1), (1, 5)} and got_neg == {(0, 2)}
    assert (positive == positive.T).all() and not (positive & negative).any()


def test_marked_pairs_need_a_pair_in_the_store(small_store, tiny_config):
    store = Store.open(small_store)
    config = tiny_config(bands=store.bands, cutout_size=store.cutout_size)
    with pytest.raises(DataError, match="no marked pair has both sources"):
        MarkedPairs(store, np.array([[store.ids[0], 10**12, 1]]), config)


def test_group_clusters_keep_groups_of_two_or_more(small_store):
    store = Store.open(small_store)
    ids = store.ids
    groups = {
        "interesting": [ids[3], ids[4], 10**12],
        "artefact": [ids[9], 10**12],
    }
    usable = group_clusters(store, groups)
    assert list(usable) == ["tag:interesting"]
    np.testing.assert_array_equal(usable["tag:interesting"], [ids[3], ids[4]])
