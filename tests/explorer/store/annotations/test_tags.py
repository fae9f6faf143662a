"""Tests of explorer.store.annotations.tags: one current tag per source."""

from __future__ import annotations

import pytest

from explorer.errors import DataError


def test_tags_replace_and_untag(notes):
    notes.tag(4, "interesting")
    notes.tag([5, 6], "boring", note="artefact")
    notes.tag(4, "boring")
    table = notes.tags()
    assert dict(zip(table["source_id"], table["tag"], strict=True)) == {
        4: "boring",
        5: "boring",
        6: "boring",
    }
    assert notes.tags("interesting").empty
    assert notes.untag([5, 99]) == 1
    assert notes.tag_of([4, 5]).tolist() == ["boring", ""]
    with pytest.raises(DataError, match="not one of"):
        notes.tag(1, "cool")


def test_has_tags_follows_the_first_and_the_last_tag(notes):
    assert not notes.has_tags()
    notes.tag([3, 4], "interesting")
    assert notes.has_tags()
    notes.untag(3)
    assert notes.has_tags()
    notes.untag(4)
    assert not notes.has_tags()
