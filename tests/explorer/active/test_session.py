"""Tests of explorer.active.session: a hunt over a real analysed store."""

from __future__ import annotations

import numpy as np

from explorer.active.session import Hunt
from explorer.store import Store
from explorer.store.annotations import Annotations


def test_hunt_follows_the_tags_and_their_undo(analysed_store_copy):
    store = Store.open(analysed_store_copy)
    hunt = Hunt.from_store(store, k=10)
    table = store.map_table()
    first = hunt.queue(5)
    score = table.set_index("id")["anomaly_score"]
    # no labels: the queue is the anomaly ranking (ties in either order)
    top5 = np.sort(score.to_numpy())[::-1][:5]
    np.testing.assert_array_equal(score.loc[first["id"]].to_numpy(), top5)

    notes = Annotations.of_store(store)
    top = int(first["id"].iloc[0])
    notes.tag(top, "interesting")
    notes.tag(int(first["id"].iloc[1]), "artefact")
    assert hunt.sync(notes) == 2
    assert hunt.sync(notes) == 0
    queue = hunt.queue(20)
    assert top not in queue["id"].tolist()
    # the queue now leads with neighbours of the interesting source
    emb = np.asarray(store.embeddings())
    rows, _ = hunt.rows_of(queue["id"].to_numpy()[:1])
    (top_row,), _ = hunt.rows_of(np.array([top]))
    assert float(emb[rows[0]] @ emb[top_row]) > 0.5
    assert queue["relevance"].is_monotonic_decreasing

    notes.undo_last_label()
    notes.undo_last_label()
    assert hunt.sync(notes) == 2
    assert hunt.queue(5)["id"].tolist() == first["id"].tolist()


def test_unknown_ids_are_skipped(analysed_store_copy):
    store = Store.open(analysed_store_copy)
    hunt = Hunt.from_store(store)
    rows, found = hunt.rows_of(np.array([store.ids[3], 10**9]))
    assert found.tolist() == [True, False]
    assert rows.tolist() == [3]
