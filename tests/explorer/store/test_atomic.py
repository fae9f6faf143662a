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


@pytest.mark.parametrize("swap", ["1", "0"])
def test_replace_dir_swaps_and_removes_the_old_folder(tmp_path, monkeypatch, swap):
    monkeypatch.setenv(atomic.EXCHANGE_ENV, swap)
    target, new = tmp_path / "s", tmp_path / ".s.building-1-x"
    target.mkdir()
    (target / "old.txt").write_text("old")
    new.mkdir()
    (new / "new.txt").write_text("new")
    atomic.replace_dir(new, target)
    assert [p.name for p in target.iterdir()] == ["new.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["s"]


def test_exchange_swaps_two_folders_or_says_it_cannot(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    (a / "in_a").touch()
    if atomic.exchange(a, b):
        assert [p.name for p in b.iterdir()] == ["in_a"]
        assert list(a.iterdir()) == []
    else:
        assert [p.name for p in a.iterdir()] == ["in_a"]


def _dead_pid() -> int:
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(proc.stdout)


def _interrupted_swap(tmp_path, renamed: int):
    """A two-step replace of ``s`` killed after ``renamed`` of its renames."""
    pid = _dead_pid()
    target = tmp_path / "s"
    new = tmp_path / f".s.building-{pid}-x"
    old = layout.old_copy(target, pid)
    for path, text in ((target, "old"), (new, "new")):
        path.mkdir()
        (path / "f.txt").write_text(text)
    atomic.write_json(
        layout.swap_journal(target, pid),
        {"target": target.name, "new": new.name, "old": old.name},
    )
    if renamed >= 1:
        os.replace(target, old)
    if renamed >= 2:
        os.replace(new, target)
    return target


@pytest.mark.parametrize(("renamed", "expected"), [(0, "old"), (1, "new"), (2, "new")])
def test_recover_swaps_completes_or_keeps_the_store(tmp_path, renamed, expected):
    target = _interrupted_swap(tmp_path, renamed)
    assert atomic.recover_swaps(tmp_path, "s") == 1
    assert (target / "f.txt").read_text() == expected
    assert [p.name for p in tmp_path.iterdir()] == ["s"]


def test_recover_swaps_leaves_a_live_writers_journal(tmp_path):
    target = tmp_path / "s"
    target.mkdir()
    journal = layout.swap_journal(target)  # this process: alive
    atomic.write_json(journal, {"target": "s", "new": "n", "old": "o"})
    assert atomic.recover_swaps(tmp_path) == 0
    assert journal.exists()
