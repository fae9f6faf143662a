"""Tests of explorer.store.annotations.marks: Similar-tab +/- pairs."""

from __future__ import annotations

import pytest

from explorer.errors import DataError


def test_marks_are_pairs_per_version(notes):
    notes.add_similar_mark(10, 11, 1, "v1")
    notes.add_similar_mark(10, 12, -1, "v1")
    notes.add_similar_mark(20, 11, -1, "v1")  # same source, another query
    notes.add_similar_mark(10, 11, -1, "v2")
    notes.add_similar_mark(10, 11, -1, "v1")  # re-mark replaces the sign
    v1 = notes.similar_marks(version="v1").sort_values(["query_id", "id"])
    assert list(zip(v1["query_id"], v1["id"], v1["sign"], strict=True)) == [
        (10, 11, -1),
        (10, 12, -1),
        (20, 11, -1),
    ]
    assert notes.similar_marks(query_id=20)["id"].tolist() == [11]
    assert len(notes.similar_marks()) == 4
    assert notes.remove_similar_mark(10, 12, "v1")
    assert not notes.remove_similar_mark(10, 12, "v1")
    assert len(notes.similar_marks()) == 3


@pytest.mark.parametrize(
    ("query", "source", "sign", "match"),
    [
        (1, 2, 0, "sign"),
        (1, 1, 1, "itself"),
        ("a", 2, 1, "query_id"),
        (1, 2.5, 1, "id"),
    ],
)
def test_bad_marks_are_refused(notes, query, source, sign, match):
    with pytest.raises(DataError, match=match):
        notes.add_similar_mark(query, source, sign)
