"""explorer.store.atomic: temporaries are siblings named by the layout."""

from __future__ import annotations

import os

import pytest

from explorer.store import atomic, layout


def test_write_json_replaces_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "a.json"
    atomic.write_json(target, {"b": 1})
    atomic.write_json(target, {"b": 2})
    assert target.read_text() == '{\n  "b": 2\n}\n'
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]


def test_temporary_uses_the_layout_pattern(tmp_path):
    target = tmp_path / "t.bin"
    with atomic.atomic_path(target) as tmp:
        assert tmp.parent == tmp_path
        assert tmp.name.startswith(layout.write_prefix(target))
        assert tmp.name.endswith(layout.WRITE_SUFFIX)
        tmp.write_bytes(b"x")
    assert target.read_bytes() == b"x"


def test_failure_keeps_the_old_file(tmp_path):
    target = tmp_path / "keep.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError, match="boom"):
        with atomic.atomic_path(target) as tmp:
            tmp.write_text("new")
            raise RuntimeError("boom")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]


def test_directory_replace_parks_the_old_copy_then_drops_it(tmp_path):
    target = tmp_path / "d"
    target.mkdir()
    (target / "old.txt").write_text("1")
    seen = []

    def writer(tmp):
        tmp.mkdir()
        (tmp / "new.txt").write_text("2")
        seen.append(layout.old_copy(target, os.getpid()))

    atomic.write_with(target, writer)
    assert sorted(p.name for p in target.iterdir()) == ["new.txt"]
    assert not seen[0].exists()
    assert [p.name for p in tmp_path.iterdir()] == ["d"]
