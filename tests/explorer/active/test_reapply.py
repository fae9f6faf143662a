"""Tests of explorer.active.reapply on a constructed newer version."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from explorer.active.reapply import reapply_cluster
from explorer.errors import DataError

BOX = {"kind": "box", "x0": 0, "x1": 1, "y0": 0, "y1": 1}


def test_box_reapplied_on_new_coordinates():
    # old members 1, 2, 3, 4; in the new version 3 moved out, 4 is gone,
    # 7 moved in, 8 stays outside
    new_map = pd.DataFrame(
        {
            "id": [1, 2, 3, 7, 8],
            "x": [0.5, 0.9, 1.5, 0.2, 3.0],
            "y": [0.5, 0.1, 0.5, 0.8, 3.0],
        }
    )
    report = reapply_cluster(np.array([4, 3, 2, 1, 1]), new_map, BOX)
    assert report.members.tolist() == [1, 2, 7]
    assert report.stayed.tolist() == [1, 2]
    assert report.joined.tolist() == [7]
    assert report.left.tolist() == [3]
    assert report.missing.tolist() == [4]
    assert report.summary() == {
        "n_before": 4,
        "n_after": 3,
        "stayed": 2,
        "joined": 1,
        "left": 1,
        "missing": 1,
        "jaccard": 0.4,  # |{1,2}| / |{1,2,3,4,7}|
    }


def test_lasso_triangle():
    lasso = {"kind": "polygon", "x": [0, 4, 0], "y": [0, 0, 4]}
    new_map = pd.DataFrame({"id": [10, 11, 12], "x": [1, 3, 0.5], "y": [1, 3, 3]})
    report = reapply_cluster(np.array([11]), new_map, lasso)
    assert report.members.tolist() == [10, 12]
    assert report.left.tolist() == [11]


def test_without_geometry_members_map_by_id():
    new_map = pd.DataFrame({"id": [1, 2, 5]})
    report = reapply_cluster(np.array([1, 5, 9]), new_map)
    assert report.members.tolist() == [1, 5]
    assert report.missing.tolist() == [9]
    assert report.joined.size == report.left.size == 0


def test_map_without_coordinates():
    with pytest.raises(DataError, match="no column 'x'"):
        reapply_cluster(np.array([1]), pd.DataFrame({"id": [1]}), BOX)
