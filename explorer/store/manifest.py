"""The store's ``manifest.json``: read and check it, name versions, timestamps.

The manifest is the store's table of contents (format, bands, cutout size,
versions, current version) and is always the last file written, so a reader
that finds it valid finds everything it names.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import re
from pathlib import Path
from typing import Any

from explorer.errors import StoreError
from explorer.store import atomic
from explorer.store.layout import FORMAT_NAME, FORMAT_VERSION, MANIFEST

_VERSION_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def now() -> str:
    """The current UTC time as ISO 8601 with microseconds.

    Microseconds because versions are listed in creation order and several
    can be created within one second.
    """
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="microseconds")


def check_version_name(name: str) -> str:
    """Return ``name`` if it is a valid version name.

    Parameters
    ----------
    name : str
        Candidate name: 1-64 letters, digits, ``_``, ``-`` or ``.``, starting
        with a letter or digit (so it is a safe directory name).

    Returns
    -------
    str
        ``name`` unchanged.

    Raises
    ------
    StoreError
        If the name breaks these rules.
    """
    if not _VERSION_NAME.match(name or ""):
        msg = (
            f"version name {name!r} is not valid: use 1-64 letters, digits, '_', "
            "'-' or '.', starting with a letter or digit"
        )
        raise StoreError(msg)
    return name


def is_store(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` (a directory or an fsspec URL) holds a latentsky manifest."""
    from explorer.store.location import store_path

    return (store_path(path) / MANIFEST).is_file()


def read_manifest(root: Path) -> dict[str, Any]:
    """Read and check the manifest of the store at ``root``.

    Parameters
    ----------
    root : pathlib.Path
        The store directory.

    Returns
    -------
    dict
        The parsed manifest.

    Raises
    ------
    StoreError
        If ``root`` does not exist, is not a store, or was written by a
        newer format version than this package reads.
    """
    try:
        exists, has_manifest = root.exists(), (root / MANIFEST).is_file()
    except OSError as exc:  # e.g. a name longer than the file system allows
        msg = f"cannot open store {str(root)[:200]!r}: {exc.strerror or exc}"
        raise StoreError(msg) from exc
    if not exists:
        msg = f"store {root} does not exist (build one with `latentsky ingest`)"
        raise StoreError(msg)
    manifest_path = root / MANIFEST
    if not has_manifest:
        msg = f"{root} is not a latentsky store (no {MANIFEST})"
        raise StoreError(msg)
    try:
        manifest = json.loads(manifest_path.read_text())
    except (OSError, ValueError) as exc:  # ValueError: bad JSON or not UTF-8
        msg = f"{manifest_path} is not valid JSON: {exc}"
        raise StoreError(msg) from exc
    if not isinstance(manifest, dict):
        msg = (
            f"{manifest_path}: expected a JSON object, found {type(manifest).__name__}"
        )
        raise StoreError(msg)
    if manifest.get("format") != FORMAT_NAME:
        found = manifest.get("format")
        msg = f"{manifest_path}: format is {found!r}, expected {FORMAT_NAME!r}"
        raise StoreError(msg)
    version = manifest.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        msg = (
            f"store {root} has format version {version}, newer than the "
            f"{FORMAT_VERSION} this latentsky reads: upgrade latentsky"
        )
        raise StoreError(msg)
    check_manifest_schema(manifest, manifest_path)
    return manifest


def check_manifest_schema(manifest: Any, path: Path) -> None:
    """Check the keys and value types of a parsed manifest.

    Parameters
    ----------
    manifest : object
        What ``json.loads`` gave for ``path``.
    path : pathlib.Path
        The manifest file, named in the error.

    Raises
    ------
    StoreError
        Naming the first key that is missing or of the wrong type, and what
        was expected.
    """
    if not isinstance(manifest, dict):
        msg = f"{path}: expected a JSON object, found {type(manifest).__name__}"
        raise StoreError(msg)
    bands = manifest.get("bands")
    if (
        not isinstance(bands, list)
        or not bands
        or not all(isinstance(b, str) and b for b in bands)
    ):
        msg = f"{path}: 'bands' is {bands!r}, expected a non-empty list of band names"
        raise StoreError(msg)
    for key, minimum in (("cutout_size", 1), ("n_sources", 0)):
        value = manifest.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            msg = f"{path}: {key!r} is {value!r}, expected an integer >= {minimum}"
            raise StoreError(msg)
    versions = manifest.get("versions", {})
    if not isinstance(versions, dict) or not all(
        isinstance(info, dict) for info in versions.values()
    ):
        msg = f"{path}: 'versions' is not an object of version name -> info"
        raise StoreError(msg)
    current = manifest.get("current")
    if current is not None and current not in versions:
        msg = f"{path}: current version {current!r} is not among {sorted(versions)}"
        raise StoreError(msg)


def new_manifest(
    bands: list[str], cutout_size: int, n_sources: int, source: str
) -> dict[str, Any]:
    """The manifest of a freshly built store (no versions yet).

    Parameters
    ----------
    bands : list of str
        Band names in cutout channel order.
    cutout_size : int
        Side ``S`` of the square cutouts in pixels.
    n_sources : int
        Number of sources ``N``.
    source : str
        Where the survey came from (informational).

    Returns
    -------
    dict
        JSON-ready manifest.
    """
    return {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "bands": bands,
        "cutout_size": cutout_size,
        "n_sources": int(n_sources),
        "created": now(),
        "source": source,
        "pixel_fill": "NaN/inf pixels replaced by the median of the finite "
        "pixels of the same band of the same cutout; count in catalog column "
        "n_masked",
        "versions": {},
        "current": None,
    }


def write_manifest(root: Path, manifest: dict[str, Any]) -> None:
    """Atomically write ``manifest`` as ``root/manifest.json``."""
    atomic.write_json(root / MANIFEST, manifest)
