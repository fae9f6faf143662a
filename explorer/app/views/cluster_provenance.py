"""How a saved cluster was made, and the cluster re-made on another version.

Plain functions (no Panel) used by :class:`~explorer.app.views.clusters.ClustersView`.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from explorer.active import ReapplyReport
from explorer.app.state import AppState
from explorer.store.annotations import Annotations, ClusterProvenance

log = logging.getLogger(__name__)


def provenance_geometry(selection: dict[str, Any] | None) -> dict[str, Any] | None:
    """The state's selection geometry in the provenance format (or None).

    ``{"kind": "box", "coords": [x0, y0, x1, y1]}`` becomes a ``box`` and
    ``{"kind": "lasso", "coords": [[x, y], ...]}`` a ``polygon``; anything
    else (a list of ids, a Similar search) has no geometry.
    """
    if not selection or selection.get("kind") not in ("box", "lasso"):
        return None
    coords = selection.get("coords") or []
    if selection["kind"] == "box":
        x0, y0, x1, y1 = (float(v) for v in coords)
        return {"kind": "box", "x0": x0, "x1": x1, "y0": y0, "y1": y1}
    vertices = np.asarray(coords, dtype=np.float64).reshape(-1, 2)
    return {
        "kind": "polygon",
        "x": vertices[:, 0].tolist(),
        "y": vertices[:, 1].tolist(),
    }


def selection_provenance(state: AppState) -> ClusterProvenance:
    """How the current selection was made: geometry, version, encoder, settings."""
    try:
        sha = state.store.version_config(state.version).get("checkpoint_sha256")
    except (OSError, ValueError) as exc:  # an unreadable config costs the hash
        log.warning("no checkpoint hash for version %s: %s", state.version, exc)
        sha = None
    settings = {
        "colour": state.color_field,
        "stretch": state.stretch,
        "sort_key": state.sort_key,
        "anomaly_k": int(state.anomaly_k),
    }
    return ClusterProvenance(
        geometry=provenance_geometry(state.selection_geometry),
        version=state.version,
        checkpoint_sha256=sha or None,
        settings=settings,
    )


def reapply_on_version(
    store, notes: Annotations, name: str, version: str
) -> ReapplyReport:
    """Re-make saved cluster ``name`` on ``version``.

    Parameters
    ----------
    store : explorer.store.Store
        The store.
    notes : Annotations
        Its annotations (the cluster, its members and provenance).
    name : str
        A saved cluster.
    version : str
        The version to re-make it on (its ``map.parquet``).

    The geometry is read on ``version``'s map aligned (Procrustes on the
    shared ids, :func:`explorer.analysis.projection.align`) to the map of the
    version the cluster was drawn on, when that version still exists.

    Returns
    -------
    ReapplyReport
        :func:`explorer.active.reapply.reapply_cluster`'s report.

    Raises
    ------
    DataError, StoreError
        If the cluster, a map or its columns are missing.
    """
    from explorer.active import reapply_cluster
    from explorer.analysis.projection import align

    provenance = notes.cluster_provenance(name)
    new_map = store.map_table(version)[["id", "x", "y"]].copy()
    old = provenance.version
    if provenance.geometry is not None and old in store.versions and old != version:
        old_map = store.map_table(old)
        xy = align(
            new_map[["x", "y"]].to_numpy(),
            old_map[["x", "y"]].to_numpy(),
            new_ids=new_map["id"].to_numpy(),
            old_ids=old_map["id"].to_numpy(),
        )
        new_map["x"], new_map["y"] = xy[:, 0], xy[:, 1]
    return reapply_cluster(notes.members(name), new_map, provenance.geometry)
