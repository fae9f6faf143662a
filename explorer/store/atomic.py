"""Atomic file writes: write to a temporary sibling, then rename into place.

A crash at any point leaves either the old file or the new one, never half of
one. Rename is atomic on POSIX file systems when source and target share a
directory, which is why temporaries are siblings of their target.

A folder cannot be renamed onto an existing folder, so :func:`replace_dir`
swaps the two with ``renameat2(RENAME_EXCHANGE)`` (Linux >= 3.15, most file
systems) and then removes the old one, which now sits at the temporary name.
Where that call is missing it falls back to two renames, after writing a
journal (``.NAME.swap-<pid>.json``) that :func:`recover_swaps` (run by every
``Store.open`` and ``latentsky check --repair``) uses to complete the replace
when its writer was killed between the renames.

A target on a file system without an atomic rename (a ``UPath`` of
``memory://`` or an object store) is written on local disk first and then
uploaded to its final name, after a one-line warning per store
(:func:`explorer.store.location.warn_not_atomic`): a reader may see a
half-uploaded file there, and a crash mid-upload can leave one.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import functools
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from explorer.store import layout, location
from explorer.store.layout import WRITE_SUFFIX, write_prefix

log = logging.getLogger(__name__)

#: ``renameat2`` arguments (``<fcntl.h>``, ``<linux/fs.h>``)
AT_FDCWD = -100
RENAME_EXCHANGE = 2
#: set this environment variable to ``0`` to use the journaled two-step
#: replace even where ``renameat2`` works (the kill tests exercise both)
EXCHANGE_ENV = "LATENTSKY_RENAME_EXCHANGE"
_UNSUPPORTED = {errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP}


def _fsync_dir(path: Path) -> None:
    # The rename is only durable once the directory entry is on disk; some
    # file systems refuse to open a directory, which is harmless here.
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@functools.cache
def _renameat2() -> Callable[..., int] | None:
    try:
        func = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):  # not glibc >= 2.28, or not Linux
        return None
    func.argtypes = [
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_uint,
    ]
    func.restype = ctypes.c_int
    return func


def exchange(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> bool:
    """Swap the paths ``a`` and ``b`` in one atomic step.

    Parameters
    ----------
    a, b : path-like
        Two existing paths on the same file system.

    Returns
    -------
    bool
        True when swapped; False when this system or file system cannot do
        it (nothing was changed).

    Raises
    ------
    OSError
        If the swap failed for another reason (a path is missing, ...).
    """
    func = _renameat2()
    if func is None or os.environ.get(EXCHANGE_ENV, "1") == "0":
        return False
    rc = func(AT_FDCWD, os.fsencode(a), AT_FDCWD, os.fsencode(b), RENAME_EXCHANGE)
    if rc == 0:
        return True
    code = ctypes.get_errno()
    if code in _UNSUPPORTED:
        return False
    raise OSError(code, os.strerror(code), str(a), None, str(b))


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists() or path.is_symlink():
        path.unlink(missing_ok=True)


def replace_dir(new: str | os.PathLike[str], target: str | os.PathLike[str]) -> None:
    """Put the folder ``new`` at ``target``; an existing ``target`` is replaced.

    At every instant ``target`` is either the old folder or the new one (see
    the module docstring); the old one is removed afterwards.

    Parameters
    ----------
    new : path-like
        The complete new folder, a sibling of ``target``.
    target : path-like
        Where it goes (absent, or an existing folder).
    """
    new, target = Path(new), Path(target)
    if new.parent.resolve() != target.parent.resolve():
        msg = f"{new} must be a sibling of {target}"
        raise ValueError(msg)
    if not target.exists():
        os.replace(new, target)
    elif exchange(new, target):
        _fsync_dir(target.parent)
        _remove(new)  # the old folder, now at the temporary name
    else:
        _replace_journaled(new, target)
    _fsync_dir(target.parent)


def _replace_journaled(new: Path, target: Path) -> None:
    journal = layout.swap_journal(target)
    old = layout.old_copy(target, os.getpid())
    write_json(journal, {"target": target.name, "new": new.name, "old": old.name})
    os.replace(target, old)
    os.replace(new, target)
    _fsync_dir(target.parent)
    _remove(old)
    journal.unlink()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, someone else's
        return True
    return True


def recover_swaps(directory: str | os.PathLike[str], name: str | None = None) -> int:
    """Complete the folder replaces whose writer died between its two renames.

    For each swap journal of a dead process in ``directory`` (of the folder
    ``name`` only, when given): a missing target gets the new folder (or the
    old one back, if the new one is gone); what is left of the other copy and
    the journal are removed. A live writer's journal is left alone.

    Parameters
    ----------
    directory : path-like
        The folder holding the targets and their journals.
    name : str, optional
        Only the journals of this target.

    Returns
    -------
    int
        How many interrupted replaces were recovered.
    """
    directory = Path(directory)
    pattern = layout.swap_journal_glob(directory / name) if name else None
    journals = directory.glob(pattern or layout.SWAP_JOURNAL_GLOB)
    recovered = 0
    for journal in sorted(journals):
        pid = layout.owner_pid(journal)
        if pid is None or pid == os.getpid() or _pid_alive(pid):
            continue
        try:
            entry = json.loads(journal.read_text())
            paths = [directory / Path(entry[k]).name for k in ("target", "new", "old")]
        except (OSError, ValueError, KeyError, TypeError):
            log.warning("removing unreadable swap journal %s", journal)
            journal.unlink(missing_ok=True)
            continue
        target, new, old = paths
        if not target.exists():
            os.replace(new if new.exists() else old, target)
            log.warning("completed the interrupted replace of %s", target)
        _remove(new)
        _remove(old)
        _fsync_dir(directory)
        journal.unlink(missing_ok=True)
        recovered += 1
    return recovered


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
    if location.is_remote(target):
        with _uploaded(target) as tmp:
            yield tmp
        return
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
            replace_dir(tmp, target)
        else:
            os.replace(tmp, target)
            _fsync_dir(target.parent)
    finally:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        elif tmp.exists():
            tmp.unlink()


@contextlib.contextmanager
def _uploaded(target: Any) -> Iterator[Path]:
    """A local temporary path whose file or folder is uploaded to ``target``.

    ``target`` (a UPath) has no atomic rename: the old copy is removed and the
    new one put in its place, after a warning (see the module docstring).
    """
    location.warn_not_atomic(target)
    with tempfile.TemporaryDirectory(prefix="latentsky-upload-") as folder:
        tmp = Path(folder) / target.name
        yield tmp
        if target.exists():
            remove_tree(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        # a store's manifest goes up last, as on local disk: until it is
        # there, readers see no store rather than half of one
        manifest = tmp / layout.MANIFEST
        parked = Path(folder) / f".{layout.MANIFEST}"
        if manifest.is_file():
            os.replace(manifest, parked)
        target.fs.put(str(tmp), target.path, recursive=tmp.is_dir())
        if parked.is_file():
            target.fs.put(str(parked), (target / layout.MANIFEST).path)


def remove_tree(path: Any) -> None:
    """Remove the file or folder ``path`` (local or a UPath), if present."""
    if location.is_remote(path):
        if path.exists():
            path.fs.rm(path.path, recursive=True)
        return
    _remove(Path(path))


def write_bytes(target: str | os.PathLike[str], data: bytes) -> None:
    """Atomically write ``data`` to ``target`` (flushed to disk before the rename).

    A remote ``target`` (UPath) is written directly, after a warning.
    """
    if location.is_remote(target):
        location.warn_not_atomic(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        return
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
