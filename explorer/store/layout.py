"""Every file and folder name of a store: the only place a path is spelled.

The layout is a public contract (users read these files from notebooks);
changing a name here needs a ``FORMAT_VERSION`` bump and a migration::

    store/
      manifest.json          format version, bands, cutout size, versions, current
      catalog.parquet        id, ra, dec, any survey columns (one row per source)
      cutouts.zarr           (N, bands, S, S) float32, sharded along N
      versions/<name>/
        config.json          checkpoint hash, training config, timestamps
        embeddings.npy       (N, D) float32, L2-normalised (memory-mapped)
        map.parquet          id, x, y, anomaly score, cluster id, ...
        index.faiss          k-NN index
        diff-<v>.npy         neighbourhood change since version <v> (cache)
        analysis.json        index kind and parameters, timings
        pixel_pca.npy        pixel-PCA features (cached for the pixel scores)
      annotations.sqlite     clusters, members, tags, notes (SQLite, WAL)
      jobs/                  background jobs: lock, one folder per job
        <job id>/job.json, progress.json, log.txt, cancel
      checkpoints/<v>.pt     encoders produced by fine-tuning jobs

Temporary names carry the pid of the process writing them, so that the next
open (or ``latentsky check --repair``) can tell a dead writer's leftovers from
a live writer's work in progress (:func:`owner_pid`):

- ``.NAME.building-<pid>-*`` beside the store: a store being built by ingest;
- ``versions/.tmp-<version>-<pid>-*``: a version being built;
- ``.<file>.<pid>.*.tmp`` beside any file: an atomic write in progress;
- ``.<file>.old-<pid>`` beside any file or folder: the previous copy during
  an atomic replace;
- ``.<folder>.swap-<pid>.json`` beside a folder: the journal of a two-step
  folder replace (where ``renameat2(RENAME_EXCHANGE)`` is unavailable), which
  the next open completes or rolls back.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

FORMAT_NAME = "latentsky-store"
FORMAT_VERSION = 1

# ------------------------------------------------------------- store root
MANIFEST = "manifest.json"
CATALOG = "catalog.parquet"
CUTOUTS = "cutouts.zarr"
VERSIONS = "versions"
ANNOTATIONS = "annotations.sqlite"
JOBS = "jobs"
#: Fine-tuned checkpoints, one per version: ``store/checkpoints/<version>.pt``.
CHECKPOINTS = "checkpoints"

# ------------------------------------------------------- inside a version
CONFIG = "config.json"
EMBEDDINGS = "embeddings.npy"
MAP = "map.parquet"
INDEX = "index.faiss"
ANALYSIS = "analysis.json"
PIXEL_PCA = "pixel_pca.npy"


def diff_cache(previous: str, k: int, default_k: int) -> str:
    """``diff-<previous>.npy`` (or ``-k<k>`` when not the default): the cached
    neighbourhood change of a version relative to ``previous``."""
    return f"diff-{previous}.npy" if k == default_k else f"diff-{previous}-k{k}.npy"


# ------------------------------------------------------ inside jobs/<id>/
#: ``jobs/lock``: the running job (one per store)
LOCK = "lock"
SPEC = "job.json"
PROGRESS = "progress.json"
LOG = "log.txt"
#: a file whose presence asks the job to stop
CANCEL = "cancel"

# ---------------------------------------------------------- temporary names
#: Sources per Zarr shard (one file on disk); each source is its own inner
#: chunk so that one cutout is read without decompressing its neighbours.
SHARD_SOURCES = 1024


def _as_path(store_root):  # -> pathlib.Path | upath.UPath
    """``store_root`` as a Path, or unchanged when it is a UPath of a URL store."""
    if hasattr(store_root, "fs") and not isinstance(store_root, str | os.PathLike):
        return store_root
    return Path(store_root)


def building_prefix(store_root: Path, pid: int | None = None) -> str:
    """Prefix of the temporary sibling directory a new store is built in."""
    return f".{_as_path(store_root).name}.building-{pid or os.getpid()}-"


def building_glob(store_root: Path) -> str:
    """Glob (beside the store) of every build directory of this store, any pid."""
    return f".{Path(store_root).name}.building-*"


#: glob (in ``versions/``) of every version build directory, any version and pid
VERSION_BUILD_GLOB = ".tmp-*"


def version_build_prefix(version: str, pid: int | None = None) -> str:
    """Prefix of the temporary directory (in ``versions/``) of a version."""
    return f".tmp-{version}-{pid or os.getpid()}-"


def write_prefix(target: Path, pid: int | None = None) -> str:
    """Prefix of the temporary file an atomic write of ``target`` uses."""
    return f".{Path(target).name}.{pid or os.getpid()}."


#: suffix of an atomic write's temporary file
WRITE_SUFFIX = ".tmp"


def old_copy(target: Path, pid: int) -> Path:
    """Where the previous ``target`` is parked during an atomic replace."""
    target = Path(target)
    return target.with_name(f".{target.name}.old-{pid}")


def swap_journal(target: Path, pid: int | None = None) -> Path:
    """Journal of a two-step replace of folder ``target`` (beside it)."""
    target = Path(target)
    return target.with_name(f".{target.name}.swap-{pid or os.getpid()}.json")


def swap_journal_glob(target: Path) -> str:
    """Glob (beside ``target``) of every swap journal of ``target``, any pid."""
    return f".{Path(target).name}.swap-*.json"


#: glob of every swap journal in a folder, any target and pid
SWAP_JOURNAL_GLOB = ".*.swap-*.json"


def owner_pid(path: Path) -> int | None:
    """The pid written into a temporary name of this module (None if absent)."""
    name = Path(path).name
    for pattern in (
        r"\.building-(\d+)-",
        r"\.old-(\d+)$",
        r"\.swap-(\d+)\.json$",
        r"^\.tmp-.+-(\d+)-[^-]+$",
        rf"^\..+\.(\d+)\.[^.]+{re.escape(WRITE_SUFFIX)}$",
    ):
        match = re.search(pattern, name)
        if match:
            return int(match.group(1))
    return None


def version_dir(store_root: Path, version: str) -> Path:
    """``store/versions/<version>`` (a UPath for a URL store)."""
    return _as_path(store_root) / VERSIONS / version


def checkpoint_path(store_root: Path, version: str) -> Path:
    """``store/checkpoints/<version>.pt`` (a fine-tuning job's encoder)."""
    return _as_path(store_root) / CHECKPOINTS / f"{version}.pt"


def version_leftovers(store_root: Path, version: str) -> list[Path]:
    """Temporary paths a killed writer of ``version`` may have left behind."""
    versions = Path(store_root) / VERSIONS
    checkpoints = Path(store_root) / CHECKPOINTS
    return [
        *versions.glob(f".tmp-{version}-*"),
        *versions.glob(f".{version}.*{WRITE_SUFFIX}"),
        *versions.glob(f".{version}.old-*"),
        *checkpoints.glob(f".{version}.pt.*{WRITE_SUFFIX}"),
    ]
