"""Tests of explorer.jobs.options: the label options of a fine-tuning job."""

from __future__ import annotations

import pytest

from explorer.errors import DataError
from explorer.jobs.options import label_feedback, normalise_options
from explorer.store import Store
from explorer.store.annotations import Annotations


def _finetune(store, checkpoint, **options):
    return normalise_options(
        store, "finetune", {"checkpoint": checkpoint, "epochs": 1, **options}
    )


def test_label_feedback_keeps_the_latest_sign_of_each_pair(small_store_copy):
    store = Store.open(small_store_copy)
    notes = Annotations.of_store(store)
    a, b, c, d = (int(i) for i in store.ids[:4])
    notes.add_similar_mark(a, b, 1, "v1")
    notes.add_similar_mark(a, c, 1, "v1")
    notes.add_similar_mark(b, a, -1, "v2")  # the same pair, swapped, later: wins
    notes.add_similar_mark(a, d, -1, "v1")
    notes.tag([a, b], "interesting")
    notes.tag([c], "artefact")  # one source: no group
    notes.tag([d], "boring")  # never a group
    feedback = label_feedback(store)
    assert sorted(map(tuple, feedback["pairs"])) == sorted(
        [(b, a, -1), (a, c, 1), (a, d, -1)]
    )
    assert feedback["groups"] == {"interesting": [a, b]}


def test_use_labels_is_checked(small_store_copy, tiny_checkpoint):
    store = Store.open(small_store_copy)
    with pytest.raises(DataError, match="no Similar-tab marks.*mark results"):
        _finetune(store, tiny_checkpoint, use_labels=True)
    with pytest.raises(DataError, match="use_labels must be true or false"):
        _finetune(store, tiny_checkpoint, use_labels="yes")
    with pytest.raises(DataError, match="not embed jobs"):
        normalise_options(
            store, "embed", {"checkpoint": tiny_checkpoint, "use_labels": True}
        )
    opts = _finetune(store, tiny_checkpoint)
    assert opts["use_labels"] is False and opts["label_weight"] == 1.0
    Annotations.of_store(store).add_similar_mark(
        int(store.ids[0]), int(store.ids[1]), -1
    )
    opts = _finetune(store, tiny_checkpoint, use_labels=True, label_weight=2)
    assert opts["use_labels"] is True and opts["label_weight"] == 2.0


def test_tags_alone_are_enough(small_store_copy, tiny_checkpoint):
    store = Store.open(small_store_copy)
    Annotations.of_store(store).tag([int(i) for i in store.ids[:3]], "artefact")
    assert _finetune(store, tiny_checkpoint, use_labels=True)["use_labels"] is True


@pytest.mark.parametrize("weight", [0, -1.0, float("nan"), "2", True])
def test_label_weight_must_be_a_positive_number(
    small_store_copy, tiny_checkpoint, weight
):
    store = Store.open(small_store_copy)
    with pytest.raises(DataError, match="label_weight must be a"):
        _finetune(store, tiny_checkpoint, label_weight=weight)
