"""Leftovers of killed writers: find them and remove those whose writer is dead.

Every temporary name of :mod:`explorer.store.layout` carries its writer's pid,
so a live ingest, embed or manifest write is never touched.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from pathlib import Path

from explorer.store import layout
from explorer.store.pids import pid_alive

log = logging.getLogger(__name__)


def leftovers(root: str | os.PathLike[str]) -> list[Path]:
    """Temporary files and directories that killed writers left in or by the store.

    Parameters
    ----------
    root : path-like
        The store directory.

    Returns
    -------
    list of pathlib.Path
        Build directories of dead ingests beside the store, half-built
        versions, temporary files of atomic writes and parked old copies.
    """
    root = Path(root)
    found = list(root.parent.glob(layout.building_glob(root)))
    found += root.parent.glob(layout.swap_journal_glob(root))
    found += root.parent.glob(f".{root.name}.old-*")
    for directory in (
        root,
        root / layout.VERSIONS,
        root / layout.CHECKPOINTS,
        root / layout.JOBS,
    ):
        if directory.is_dir():
            found += directory.glob(f".*{layout.WRITE_SUFFIX}")
            found += directory.glob(".*.old-*")
    versions = root / layout.VERSIONS
    if versions.is_dir():
        found += versions.glob(layout.VERSION_BUILD_GLOB)
    return sorted(set(found))


#: a temporary name without a pid (older latentsky) counts as stale after this
UNOWNED_STALE_S = 3600.0


def _is_stale(path: Path) -> bool:
    """Whether the writer of ``path`` is gone (its pid is dead, or it is old)."""
    pid = layout.owner_pid(path)
    if pid is not None:
        return pid != os.getpid() and not pid_alive(pid)
    try:
        age = time.time() - path.lstat().st_mtime
    except FileNotFoundError:
        return False
    return age > UNOWNED_STALE_S


def stale_leftovers(root: str | os.PathLike[str]) -> list[Path]:
    """The :func:`leftovers` whose writer is no longer running."""
    return [path for path in leftovers(root) if _is_stale(path)]


def repair(root: str | os.PathLike[str]) -> list[Path]:
    """Remove :func:`stale_leftovers` (never a published file or a live
    writer's work); return what was removed."""
    from explorer.store.atomic import recover_swaps

    root = Path(root)
    # an interrupted swap is completed (never just deleted: it may hold the
    # only copy of the store) before the rest is cleaned
    recover_swaps(root.parent, root.name)
    if (root / layout.VERSIONS).is_dir():
        recover_swaps(root / layout.VERSIONS)
    removed = []
    for path in stale_leftovers(root):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        if not path.exists():
            removed.append(path)
    if removed:
        log.info("removed %d leftover temporary path(s) in %s", len(removed), root)
    return removed
