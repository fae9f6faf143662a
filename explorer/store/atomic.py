"""Atomic file writes: write to a temporary sibling, then rename into place.

A crash at any point leaves either the old file or the new one, never half of
one. Rename is atomic on POSIX file systems when source and target share a
directory, which is why temporaries are siblings of their target.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from explorer.store.layout import WRITE_SUFFIX, old_copy, write_prefix


def _fsync_dir(path: Path) -> None:
    # The rename is only durable once the directory entry is on disk; some
    # file systems refuse to open a directory, which is harmless here.
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path next to ``target``; rename it onto ``target`` on success.

    The caller writes a file (or a directory) at the yielded path. If the block
    raises, the temporary is removed and ``target`` is untouched.

    Parameters
    ----------
    target : path-like
        Final location of the file or directory.

    Yields
    ------
    pathlib.Path
        Temporary path in the same directory as ``target`` (not yet existing).
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(
        prefix=write_prefix(target), suffix=WRITE_SUFFIX, dir=target.parent
    )
    os.close(fd)
    tmp = Path(name)
    tmp.unlink()
    try:
        yield tmp
        if target.is_dir() and not target.is_symlink():
            # Directories cannot be replaced atomically by rename(2): move the
            # old one aside first, then drop it once the new one is in place.
            old = old_copy(target, os.getpid())
            os.replace(target, old)
            os.replace(tmp, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, target)
        _fsync_dir(target.parent)
    finally:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        elif tmp.exists():
            tmp.unlink()


def write_bytes(target: str | os.PathLike[str], data: bytes) -> None:
    """Atomically write ``data`` to ``target`` (flushed to disk before the rename)."""
    with atomic_path(target) as tmp:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())


def write_json(target: str | os.PathLike[str], obj: Any) -> None:
    """Atomically write ``obj`` as indented JSON to ``target``."""
    write_bytes(target, (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode())


def write_with(target: str | os.PathLike[str], writer: Callable[[Path], None]) -> None:
    """Atomically create ``target`` by calling ``writer(tmp_path)``.

    Parameters
    ----------
    target : path-like
        Final location.
    writer : callable
        Called with a temporary path; must create the file or directory there.
    """
    with atomic_path(target) as tmp:
        writer(tmp)
