"""Re-make a saved cluster on a newer embedding version.

A cluster saved with its geometry (a lasso polygon or box in map
coordinates, :class:`~explorer.store.annotations.ClusterProvenance`) is
re-evaluated on the new version's map: its members there are the sources
whose new ``(x, y)`` lie inside the geometry. A cluster without geometry (a
hand-picked list) keeps its members, mapped by id. Either way the report says
who stayed, who joined, who left because the geometry no longer contains
them, and who is missing because the new version lacks the id.

The geometry is applied as drawn: the caller hands the map it should be read
on -- the new version's own map, or that map aligned to the old one (e.g.
Procrustes on shared ids) when the layouts differ by a rotation.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd

from explorer.errors import DataError
from explorer.store.annotations.provenance import points_inside


@dataclasses.dataclass(frozen=True)
class ReapplyReport:
    """The outcome of re-applying a cluster; every array is sorted int64 ids.

    Attributes
    ----------
    members : ndarray
        The cluster on the new version.
    stayed : ndarray
        Old members that are still members.
    joined : ndarray
        New members that were not old members.
    left : ndarray
        Old members present in the new version but outside the geometry.
    missing : ndarray
        Old members whose id the new version does not have.
    """

    members: np.ndarray
    stayed: np.ndarray
    joined: np.ndarray
    left: np.ndarray
    missing: np.ndarray

    def summary(self) -> dict[str, Any]:
        """Counts (and the Jaccard index of old and new members), JSON-ready."""
        old = len(self.stayed) + len(self.left) + len(self.missing)
        union = old + len(self.joined)
        return {
            "n_before": old,
            "n_after": len(self.members),
            "stayed": len(self.stayed),
            "joined": len(self.joined),
            "left": len(self.left),
            "missing": len(self.missing),
            "jaccard": round(len(self.stayed) / union, 4) if union else 1.0,
        }


def _column(table: pd.DataFrame, name: str) -> np.ndarray:
    if name not in table.columns:
        msg = f"map table has no column {name!r} (columns: {list(table.columns)})"
        raise DataError(msg)
    return table[name].to_numpy()


def reapply_cluster(
    members: np.ndarray,
    new_map: pd.DataFrame,
    geometry: dict[str, Any] | None = None,
) -> ReapplyReport:
    """Members of a saved cluster on another version, with who joined and left.

    Parameters
    ----------
    members : ndarray
        ``(n,)`` int source ids of the saved cluster.
    new_map : DataFrame
        The newer version's map: ``id`` and, with a geometry, ``x`` and ``y``
        in the coordinates the geometry was drawn in.
    geometry : dict, optional
        The cluster's lasso polygon or box; None keeps the members by id.

    Returns
    -------
    ReapplyReport

    Raises
    ------
    DataError
        If the map lacks a needed column or the geometry is malformed.
    """
    old = np.unique(np.asarray(members, dtype=np.int64))
    ids = _column(new_map, "id").astype(np.int64)
    present = np.isin(old, ids)
    if geometry is None:
        new = old[present]
    else:
        inside = points_inside(geometry, _column(new_map, "x"), _column(new_map, "y"))
        new = np.unique(ids[inside])
    return ReapplyReport(
        members=new,
        stayed=np.intersect1d(old, new),
        joined=np.setdiff1d(new, old),
        left=np.setdiff1d(old[present], new),
        missing=old[~present],
    )
