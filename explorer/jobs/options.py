"""Validation of a job's options, apart from starting processes.

:func:`normalise_options` turns what a caller (dashboard, CLI) asks for into
the complete, checked options stored in the job's spec; it raises
:class:`~explorer.errors.DataError` / :class:`~explorer.errors.StoreError`
before anything is locked or spawned. :func:`version_checkpoint` is the one
reader of the checkpoint a version names.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from explorer.errors import DataError, StoreError
from explorer.jobs.protocol import DEVICES, KINDS
from explorer.store import Store, check_version_name
from explorer.store.layout import VERSIONS

#: Options a job accepts.
OPTIONS = frozenset(
    {
        "checkpoint",
        "epochs",
        "clusters",
        "device",
        "version",
        "batch_size",
        "num_workers",
        "cluster_weight",
        "use_labels",
        "label_weight",
        "lr",
        "make_current",
        "map_method",
        "map_seed",
    }
)


def version_checkpoint(store: Store, version: str) -> Path | None:
    """The checkpoint that produced ``version``, if its file exists here.

    Parameters
    ----------
    store : Store
        The store.
    version : str
        One of its versions.

    Returns
    -------
    pathlib.Path or None
        The file named by the version's ``config.json``; None if it names
        none or the file is not on this machine.
    """
    path = store.version_checkpoint(version)
    return path if path is not None and path.is_file() else None


def next_version_name(store: Store) -> str:
    """``v<n>``: the first free name after the store's versions."""
    store.reload()
    existing = set(store.versions)
    existing |= {p.name for p in (store.root / VERSIONS).glob("*") if p.is_dir()}
    n = len(store.versions) + 1
    while f"v{n}" in existing:
        n += 1
    return f"v{n}"


def _checked_kind_and_keys(kind: str, opts: dict[str, Any]) -> None:
    if kind not in KINDS:
        msg = f"job kind {kind!r} is not one of {KINDS}"
        raise DataError(msg)
    unknown = set(opts) - OPTIONS
    if unknown:
        msg = f"unknown {kind} job option(s) {sorted(unknown)}"
        raise DataError(msg)


def _checked_device(device: str | None) -> str:
    device = device or "auto"
    if device not in DEVICES:
        msg = f"device {device!r} is not one of {DEVICES}"
        raise DataError(msg)
    return device


def _checked_checkpoint(store: Store, checkpoint: Any) -> str:
    if checkpoint is None:
        store.reload()
        current = store.current_version
        checkpoint = version_checkpoint(store, current) if current else None
        if checkpoint is None:
            msg = (
                f"store {store.root} has no current version with a checkpoint: "
                "pass a checkpoint (train one with `latentsky train`)"
            )
            raise DataError(msg)
    checkpoint = Path(checkpoint).expanduser().resolve()
    if not checkpoint.is_file():
        msg = f"checkpoint {checkpoint} does not exist"
        raise DataError(msg)
    return str(checkpoint)


def _checked_epochs(epochs: Any) -> int:
    if not isinstance(epochs, int) or isinstance(epochs, bool) or epochs < 1:
        msg = f"fine-tuning needs a positive number of epochs, got {epochs!r}"
        raise DataError(msg)
    return epochs


def _checked_clusters(store: Store, clusters: Any) -> list[str]:
    """Saved cluster names to use as positives (``True``: all of them)."""
    if not clusters:
        return []
    from explorer.store.annotations import Annotations

    saved = Annotations(store.annotations_path).names()
    if clusters is True:
        clusters = saved
        if not clusters:
            msg = f"store {store.root} has no saved clusters to use as positives"
            raise DataError(msg)
    unknown_names = [c for c in clusters if c not in saved]
    if unknown_names:
        msg = f"no saved cluster(s) named {unknown_names} (clusters: {saved or 'none'})"
        raise DataError(msg)
    return list(clusters)


#: Tags whose sources are positives of each other (mirrors models.feedback).
GROUP_TAGS = ("interesting", "artefact")

NO_LABELS = (
    "store {root} has no Similar-tab marks to fine-tune with: in the dashboard's "
    "Similar tab, search from a source and mark results + (a good match) or "
    "- (not one), or tag 2 or more sources interesting / artefact"
)


def label_feedback(store: Store) -> dict[str, Any]:
    """The store's marks and label groups, as a fine-tuning job uses them.

    A pair marked several times (in several versions, or with query and
    result swapped) counts once, with its latest sign.

    Parameters
    ----------
    store : Store
        The store whose annotations are read.

    Returns
    -------
    dict
        ``{"pairs": [[query_id, id, sign], ...], "groups": {tag: [ids]}}``
        with a group for each of :data:`GROUP_TAGS` that has 2 or more
        sources.
    """
    from explorer.store.annotations import Annotations

    notes = Annotations(store.annotations_path)
    marks = notes.similar_marks()
    pairs: list[list[int]] = []
    if len(marks):
        ends = np.sort(marks[["query_id", "id"]].to_numpy(np.int64), axis=1)
        keyed = marks.assign(low=ends[:, 0], high=ends[:, 1])
        latest = keyed.drop_duplicates(["low", "high"], keep="last")
        pairs = latest[["query_id", "id", "sign"]].to_numpy(np.int64).tolist()
    tags = notes.tags()
    groups = {}
    for tag in GROUP_TAGS:
        ids = tags.loc[tags["tag"] == tag, "source_id"].to_numpy(np.int64)
        if len(ids) >= 2:
            groups[tag] = ids.tolist()
    return {"pairs": pairs, "groups": groups}


def _checked_labels(store: Store, use_labels: Any) -> bool:
    """``use_labels`` as a bool; True only when the store has labels to use."""
    if use_labels is None or use_labels is False:
        return False
    if use_labels is not True:
        msg = f"use_labels must be true or false, got {use_labels!r}"
        raise DataError(msg)
    feedback = label_feedback(store)
    if not feedback["pairs"] and not feedback["groups"]:
        raise DataError(NO_LABELS.format(root=store.root))
    return True


def _checked_weight(name: str, value: Any) -> float:
    """A term's weight: a finite number > 0 (default 1)."""
    if value is None:
        return 1.0
    if isinstance(value, bool) or not isinstance(value, int | float):
        msg = f"{name} must be a number, got {value!r}"
        raise DataError(msg)
    if not math.isfinite(value) or value <= 0:
        msg = f"{name} must be a positive finite number, got {value!r}"
        raise DataError(msg)
    return float(value)


def _checked_map(opts: dict[str, Any]) -> None:
    """``map_method`` (default umap) and ``map_seed`` (None or an int), in place."""
    from explorer.analysis.map_methods import check_method

    opts["map_method"] = check_method(opts.get("map_method") or "umap")
    seed = opts.get("map_seed")
    if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
        msg = f"map_seed must be an integer or None, got {seed!r}"
        raise DataError(msg)
    opts["map_seed"] = seed


def _checked_version(store: Store, version: str | None) -> str:
    version = version or next_version_name(store)
    check_version_name(version)
    store.reload()
    if version in store.versions:
        msg = f"store {store.root} already has a version {version!r}"
        raise StoreError(msg)
    return version


def normalise_options(
    store: Store, kind: str, options: dict[str, Any]
) -> dict[str, Any]:
    """The complete, checked options of a ``kind`` job on ``store``.

    Parameters
    ----------
    store : Store
        The store the job runs on.
    kind : {"embed", "finetune"}
        The job kind.
    options : dict
        What the caller asked for (see :meth:`JobRunner.start`).

    Returns
    -------
    dict
        The options with ``device``, ``checkpoint`` (absolute), ``version``
        and ``make_current`` filled in, and for fine-tuning ``epochs``,
        ``clusters`` (a list of names), ``use_labels`` (bool) and
        ``label_weight`` (float); ``map_method`` and ``map_seed``.

    Raises
    ------
    DataError
        If an option is invalid, the checkpoint does not exist, or
        ``use_labels`` is asked for on a store without marks or label groups.
    StoreError
        If the version name is invalid or taken.
    """
    opts = dict(options)
    _checked_kind_and_keys(kind, opts)
    opts["device"] = _checked_device(opts.get("device"))
    opts["checkpoint"] = _checked_checkpoint(store, opts.get("checkpoint"))
    if kind == "finetune":
        opts["epochs"] = _checked_epochs(opts.get("epochs", 1))
        opts["clusters"] = _checked_clusters(store, opts.get("clusters"))
        opts["use_labels"] = _checked_labels(store, opts.get("use_labels"))
        opts["label_weight"] = _checked_weight("label_weight", opts.get("label_weight"))
    elif opts.get("epochs") or opts.get("clusters") or opts.get("use_labels"):
        msg = "epochs/clusters/use_labels apply to fine-tuning jobs, not embed jobs"
        raise DataError(msg)
    _checked_map(opts)
    opts["version"] = _checked_version(store, opts.get("version"))
    opts.setdefault("make_current", True)
    return opts


def cluster_members(store: Store, names: list[str]) -> dict[str, list[int]]:
    """Source ids of the saved clusters ``names`` (for the job spec)."""
    if not names:
        return {}
    from explorer.store.annotations import Annotations

    notes = Annotations(store.annotations_path)
    return {name: [int(i) for i in notes.members(name)] for name in names}
