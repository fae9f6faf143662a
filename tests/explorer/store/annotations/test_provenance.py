"""Tests of explorer.store.annotations.provenance: geometry and its storage."""

from __future__ import annotations

import numpy as np
import pytest

from explorer.errors import DataError
from explorer.store.annotations import ClusterProvenance
from explorer.store.annotations.provenance import clean_geometry, points_inside


def test_points_inside_a_concave_polygon():
    # an L shape: the unit square [0,2]x[0,2] minus its top-right quarter
    lasso = {"kind": "polygon", "x": [0, 2, 2, 1, 1, 0], "y": [0, 0, 1, 1, 2, 2]}
    x = np.array([0.5, 1.5, 1.5, 0.5, 2.5, -0.1])
    y = np.array([0.5, 0.5, 1.5, 1.5, 0.5, 1.0])
    assert points_inside(lasso, x, y).tolist() == [
        True,
        True,
        False,
        True,
        False,
        False,
    ]


def test_box_edges_are_inclusive_and_corners_any_order():
    box = {"kind": "box", "x0": 2, "x1": 0, "y0": 1, "y1": 0}
    assert clean_geometry(box) == {"kind": "box", "x0": 0, "x1": 2, "y0": 0, "y1": 1}
    inside = points_inside(box, np.array([0.0, 2.0, 2.1]), np.array([1.0, 0.0, 0.5]))
    assert inside.tolist() == [True, True, False]


@pytest.mark.parametrize(
    ("geometry", "match"),
    [
        ({"kind": "circle"}, "not one of"),
        ({"kind": "polygon", "x": [0, 1], "y": [0, 1]}, ">= 3 vertices"),
        ({"kind": "polygon", "x": [0, 1, np.nan], "y": [0, 1, 1]}, "non-finite"),
        ({"kind": "box", "x0": 0, "x1": 1, "y0": 0}, "'y1'"),
    ],
)
def test_bad_geometry(geometry, match):
    with pytest.raises(DataError, match=match):
        clean_geometry(geometry)


def test_cluster_keeps_its_provenance(notes):
    made = ClusterProvenance(
        geometry={"kind": "polygon", "x": [0, 1, 1], "y": [0, 0, 1]},
        version="v2",
        checkpoint_sha256="ab" * 32,
        settings={"colour": "anomaly_score"},
    )
    notes.save_cluster("arcs", [4, 5], provenance=made)
    back = notes.cluster_provenance("arcs")
    assert back == made
    assert notes.clusters()["version"].tolist() == ["v2"]
    notes.save_cluster("picked", [1])
    assert notes.cluster_provenance("picked") == ClusterProvenance()
    with pytest.raises(DataError, match="not JSON"):
        notes.save_cluster(
            "bad", [1], provenance=ClusterProvenance(settings={"a": {1, 2}})
        )
