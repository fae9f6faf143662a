"""Where a store lives: a local directory or an fsspec URL, and how to read it.

A store root is a :class:`pathlib.Path` when it is on this machine (a plain
path or a ``file://`` URL) and a :class:`upath.UPath` for any other fsspec URL
(``memory://``, ``s3://``, ``gs://``, ...); both spell sub-paths with ``/``,
so :mod:`explorer.store.layout` names every file of either. The readers here
pick the access each kind allows: embeddings are memory-mapped on local disk
and read through fsspec elsewhere; Parquet goes through pyarrow with the
fsspec file system; Zarr through ``zarr.storage.FsspecStore``.

Only local file systems rename atomically. A write to any other one goes
straight to its final name, after a one-line warning per store (see
:func:`warn_not_atomic`).
"""

from __future__ import annotations

import logging
import os
import re
import urllib.parse
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from explorer.errors import StoreError

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow.parquet as pq

log = logging.getLogger(__name__)

#: ``scheme://`` at the start of a URL (``file``, ``memory``, ``s3``, ...)
_URL = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
#: store roots already warned about (one warning per store and process)
_WARNED: set[str] = set()


def is_url(value: str | os.PathLike[str]) -> bool:
    """Whether ``value`` is spelled as a URL (``scheme://...``)."""
    return isinstance(value, str) and _URL.match(value) is not None


def is_local(path: Any) -> bool:
    """Whether ``path`` is on this machine (a ``pathlib.Path``, not a UPath)."""
    return isinstance(path, Path)


def is_remote(path: Any) -> bool:
    """Whether ``path`` is a UPath on a file system other than this machine's."""
    return not isinstance(path, str | os.PathLike) and hasattr(path, "fs")


def store_path(root: Any) -> Any:
    """The root of a store as a ``pathlib.Path`` (local) or a ``UPath`` (URL).

    Parameters
    ----------
    root : str, path-like or UPath
        A directory, a ``file://`` URL (taken as that local directory, so it
        is memory-mapped and written atomically) or any fsspec URL.

    Returns
    -------
    pathlib.Path or upath.UPath
        Local directories as ``Path``; other URLs as ``UPath``.

    Raises
    ------
    StoreError
        If the URL's protocol is unknown to fsspec or its package is not
        installed, naming the URL.
    """
    if isinstance(root, Path):
        return root
    if not isinstance(root, str):
        from upath import UPath

        if isinstance(root, UPath):
            return Path(root.path) if root.protocol in ("", "file", "local") else root
        return Path(root)
    match = _URL.match(root)
    if match is None:
        return Path(root)
    scheme = match.group(1).lower()
    if scheme in ("file", "local"):
        return Path(urllib.parse.unquote(urllib.parse.urlsplit(root).path))
    from upath import UPath

    try:
        path = UPath(root)
        path.fs  # noqa: B018 - the file system is made lazily: fail here, in one line
        return path
    except (ValueError, ImportError, OSError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        msg = (
            f"store URL {root!r}: protocol {scheme!r} cannot be opened ({reason}); "
            "expected a directory or an fsspec URL such as file://, memory://, s3://"
        )
        raise StoreError(msg) from None


def warn_not_atomic(target: Any) -> None:
    """Warn once per store that writes to ``target``'s file system are not atomic.

    Parameters
    ----------
    target : upath.UPath
        A path on a file system without an atomic rename (object stores,
        ``memory://``).
    """
    root = _store_root_of(target)
    if root in _WARNED:
        return
    _WARNED.add(root)
    log.warning(
        "%s: %s:// has no atomic rename, so writes go straight to their final "
        "names: a crash mid-write can leave a half-written file (a reader may "
        "see it)",
        root,
        target.protocol,
    )


def _store_root_of(target: Any) -> str:
    """The URL of the store holding ``target`` (the first folder with a manifest)."""
    from explorer.store.layout import MANIFEST

    for folder in (target, *target.parents):
        try:
            if (folder / MANIFEST).is_file():
                return str(folder)
        except OSError:
            break
    return str(target.parent)


# ------------------------------------------------------------------ readers
def read_parquet(path: Any, columns: list[str] | None = None) -> pd.DataFrame:
    """A Parquet file as a DataFrame, through pyarrow's fsspec bridge when remote."""
    import pandas as pd

    if is_local(path):
        return pd.read_parquet(path, columns=columns)
    import pyarrow.parquet as pq

    return pq.read_table(path.path, columns=columns, filesystem=path.fs).to_pandas()


def parquet_file(path: Any) -> pq.ParquetFile:
    """A ``pyarrow.parquet.ParquetFile`` (metadata and schema) of ``path``."""
    import pyarrow.parquet as pq

    if is_local(path):
        return pq.ParquetFile(path)
    return pq.ParquetFile(path.path, filesystem=path.fs)


def load_npy(path: Any, *, mmap: bool = True) -> np.ndarray:
    """An ``.npy`` array: memory-mapped on local disk, read via fsspec otherwise.

    A remote array is read whole (object stores cannot be memory-mapped) and
    made read-only, like the memory map.
    """
    if is_local(path):
        return np.load(path, mmap_mode="r" if mmap else None)
    with path.open("rb") as handle:
        array = np.load(handle)
    array.flags.writeable = False
    return array


def open_zarr_array(path: Any, mode: str = "r"):  # -> zarr.Array
    """The Zarr array at ``path`` (a local folder or a ``zarr.storage.FsspecStore``)."""
    import zarr

    if is_local(path):
        return zarr.open_array(str(path), mode=mode)
    from zarr.storage import FsspecStore

    store = FsspecStore.from_url(
        str(path),
        storage_options=dict(path.storage_options),
        read_only=mode == "r",
    )
    return zarr.open_array(store, mode=mode)


def local_annotations(root: Any) -> Path:
    """The local copy of a URL store's ``annotations.sqlite`` (SQLite needs one).

    The copy lives in ``$LATENTSKY_CACHE`` (default ``~/.cache/latentsky``)
    under a folder named by a hash of the URL; it is first downloaded from
    the store when the store has one. Edits stay in the local copy: a one-line
    warning says where.

    Parameters
    ----------
    root : upath.UPath
        The store's URL.

    Returns
    -------
    pathlib.Path
        The local database file (it may not exist yet).
    """
    import hashlib

    from explorer.store.layout import ANNOTATIONS

    cache = Path(os.environ.get("LATENTSKY_CACHE") or Path.home() / ".cache/latentsky")
    key = hashlib.sha256(str(root).encode()).hexdigest()[:16]
    local = cache / "stores" / key / ANNOTATIONS
    remote = root / ANNOTATIONS
    if not local.exists() and remote.is_file():
        local.parent.mkdir(parents=True, exist_ok=True)
        local.write_bytes(remote.read_bytes())
    if str(root) not in _WARNED_ANNOTATIONS:
        _WARNED_ANNOTATIONS.add(str(root))
        log.warning("annotations of %s are kept in the local copy %s", root, local)
    return local


_WARNED_ANNOTATIONS: set[str] = set()
