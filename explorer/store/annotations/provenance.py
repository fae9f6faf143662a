"""How a saved cluster was made: selection geometry, version, encoder, settings.

A :class:`ClusterProvenance` is stored with the cluster (JSON text columns of
``clusters``) so the selection can be re-made on a newer version
(:func:`explorer.active.reapply.reapply_cluster`).

Geometry is in map coordinates (``map.parquet`` ``x``, ``y``):

- ``{"kind": "polygon", "x": [...], "y": [...]}``: a lasso, >= 3 vertices,
  closed implicitly;
- ``{"kind": "box", "x0": .., "x1": .., "y0": .., "y1": ..}``: a box
  selection (edges inclusive).
"""

from __future__ import annotations

import dataclasses
import json
import math
from typing import Any

import numpy as np

from explorer.errors import DataError

GEOMETRY_KINDS = ("polygon", "box")


def _finite_list(geometry: dict, key: str) -> list[float]:
    try:
        values = [float(v) for v in np.atleast_1d(geometry[key])]
    except (KeyError, TypeError, ValueError) as exc:
        msg = f"cluster geometry: {key!r} must be a list of numbers ({exc})"
        raise DataError(msg) from exc
    if not all(math.isfinite(v) for v in values):
        msg = f"cluster geometry: {key!r} has a non-finite value"
        raise DataError(msg)
    return values


def clean_geometry(geometry: dict[str, Any]) -> dict[str, Any]:
    """A checked, JSON-ready copy of a selection geometry.

    Parameters
    ----------
    geometry : dict
        A polygon or box (module docstring).

    Returns
    -------
    dict
        Polygon: ``kind``, ``x``, ``y`` lists of float. Box: ``kind``, ``x0 <=
        x1``, ``y0 <= y1`` floats.

    Raises
    ------
    DataError
        On an unknown kind, missing or non-finite coordinates, or a polygon
        with fewer than 3 vertices or unequal ``x``/``y`` lengths.
    """
    if not isinstance(geometry, dict) or geometry.get("kind") not in GEOMETRY_KINDS:
        kind = geometry.get("kind") if isinstance(geometry, dict) else geometry
        msg = f"cluster geometry kind {kind!r} is not one of {GEOMETRY_KINDS}"
        raise DataError(msg)
    if geometry["kind"] == "box":
        x0, x1, y0, y1 = (
            _finite_list(geometry, k)[0] for k in ("x0", "x1", "y0", "y1")
        )
        return {
            "kind": "box",
            "x0": min(x0, x1),
            "x1": max(x0, x1),
            "y0": min(y0, y1),
            "y1": max(y0, y1),
        }
    xs, ys = _finite_list(geometry, "x"), _finite_list(geometry, "y")
    if len(xs) != len(ys) or len(xs) < 3:
        msg = (
            f"cluster geometry: a polygon needs >= 3 vertices with as many x as y, "
            f"got {len(xs)} x and {len(ys)} y"
        )
        raise DataError(msg)
    return {"kind": "polygon", "x": xs, "y": ys}


def points_inside(geometry: dict[str, Any], x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Which points ``(x, y)`` lie inside a polygon or box.

    Polygons use the even-odd rule (a self-crossing lasso keeps what the eye
    sees as its inside), vectorised over points, one pass per edge.

    Parameters
    ----------
    geometry : dict
        A polygon or box (module docstring).
    x, y : ndarray
        ``(N,)`` map coordinates.

    Returns
    -------
    ndarray
        ``(N,)`` bool.
    """
    geometry = clean_geometry(geometry)
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if geometry["kind"] == "box":
        return (
            (x >= geometry["x0"])
            & (x <= geometry["x1"])
            & (y >= geometry["y0"])
            & (y <= geometry["y1"])
        )
    px, py = np.asarray(geometry["x"]), np.asarray(geometry["y"])
    inside = np.zeros(x.shape, dtype=bool)
    for i in range(len(px)):
        xa, ya, xb, yb = px[i - 1], py[i - 1], px[i], py[i]
        crosses = (ya > y) != (yb > y)
        with np.errstate(divide="ignore", invalid="ignore"):
            x_cross = xa + (y - ya) * (xb - xa) / (yb - ya)
        inside ^= crosses & (x < x_cross)
    return inside


@dataclasses.dataclass(frozen=True)
class ClusterProvenance:
    """How a cluster selection was made.

    Attributes
    ----------
    geometry : dict or None
        Lasso polygon or box in map coordinates; None for a selection made
        otherwise (a list of ids, a Similar search).
    version : str or None
        The embedding version whose map the geometry refers to.
    checkpoint_sha256 : str or None
        The encoder checkpoint of that version (``config.json``
        ``checkpoint_sha256``).
    settings : dict
        Colour/score settings shown when selecting (e.g. ``{"colour":
        "anomaly_score", "score": "max_rank"}``), JSON-serialisable.
    """

    geometry: dict[str, Any] | None = None
    version: str | None = None
    checkpoint_sha256: str | None = None
    settings: dict[str, Any] = dataclasses.field(default_factory=dict)

    def columns(self) -> tuple[str | None, str | None, str]:
        """``(geometry, checkpoint_sha256, settings)`` as stored (JSON text)."""
        geometry = None if self.geometry is None else clean_geometry(self.geometry)
        try:
            settings = json.dumps(self.settings or {}, sort_keys=True)
        except TypeError as exc:
            msg = f"cluster settings are not JSON-serialisable: {exc}"
            raise DataError(msg) from exc
        return (
            None if geometry is None else json.dumps(geometry),
            self.checkpoint_sha256,
            settings,
        )

    @classmethod
    def from_columns(
        cls,
        version: str | None,
        geometry: str | None,
        checkpoint_sha256: str | None,
        settings: str | None,
    ) -> ClusterProvenance:
        """The provenance read back from a ``clusters`` row."""
        return cls(
            geometry=None if geometry is None else json.loads(geometry),
            version=version,
            checkpoint_sha256=checkpoint_sha256,
            settings={} if settings is None else json.loads(settings),
        )
