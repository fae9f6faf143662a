"""Tests of the label log of explorer.store.annotations.tags: undo, newest first."""

from __future__ import annotations


def test_artefact_is_a_tag(notes):
    notes.tag([1, 2], "artefact")
    assert notes.tags("artefact")["source_id"].tolist() == [1, 2]


def test_undo_walks_back_one_call_at_a_time(notes):
    notes.tag(1, "interesting", note="ring?")
    notes.tag([1, 2], "boring")
    notes.untag(2)
    notes.tag(3, "artefact")

    undone = notes.undo_last_label()
    assert undone.to_dict("list") == {
        "source_id": [3],
        "undone": ["artefact"],
        "restored": [""],
    }
    assert notes.tag_of([1, 2, 3]).tolist() == ["boring", "", ""]

    undone = notes.undo_last_label()  # the untag
    assert undone["restored"].tolist() == ["boring"]
    assert notes.tag_of([1, 2, 3]).tolist() == ["boring", "boring", ""]

    undone = notes.undo_last_label()  # the two-source call, as one action
    assert undone["source_id"].tolist() == [1, 2]
    assert undone["restored"].tolist() == ["interesting", ""]
    table = notes.tags()
    assert table["source_id"].tolist() == [1]
    assert table["note"].tolist() == ["ring?"]  # the replaced note is back too

    assert notes.undo_last_label()["source_id"].tolist() == [1]
    assert notes.tags().empty
    assert notes.undo_last_label().empty  # nothing left: no error


def test_label_history_lists_what_each_call_set(notes):
    notes.tag(7, "interesting")
    notes.tag(7, "artefact")
    history = notes.label_history()
    assert history["tag"].tolist() == ["interesting", "artefact"]
    assert history["before"].tolist() == ["", "interesting"]
    assert history["action"].is_monotonic_increasing


def test_big_selections_tag_and_undo(notes):
    ids = list(range(2000))  # above one SQLite parameter chunk
    notes.tag(ids, "boring")
    notes.tag(ids, "artefact")
    notes.undo_last_label()
    assert set(notes.tags()["tag"]) == {"boring"}
    assert len(notes.tags()) == 2000
