"""Saved clusters keep how they were made and re-apply to another version."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from explorer.app.state import AppState
from explorer.app.views.cluster_provenance import provenance_geometry
from explorer.app.views.clusters import ClustersView
from explorer.store import Store
from explorer.store.annotations import Annotations


@pytest.fixture
def store_root(two_version_store, tmp_path):
    root = tmp_path / "store"
    shutil.copytree(two_version_store, root)
    config = root / "versions" / "v1" / "config.json"
    data = json.loads(config.read_text()) if config.exists() else {}
    data["checkpoint_sha256"] = "ab" * 32
    config.write_text(json.dumps(data))
    return root


def test_provenance_geometry_of_box_lasso_and_ids():
    box = {"kind": "box", "coords": [1.0, 2.0, 3.0, 4.0]}
    assert provenance_geometry(box) == {
        "kind": "box", "x0": 1.0, "x1": 3.0, "y0": 2.0, "y1": 4.0
    }  # fmt: skip
    lasso = {"kind": "lasso", "coords": [[0, 0], [1, 0], [0, 2]]}
    assert provenance_geometry(lasso) == {
        "kind": "polygon", "x": [0.0, 1.0, 0.0], "y": [0.0, 0.0, 2.0]
    }  # fmt: skip
    assert provenance_geometry(None) is None


def test_save_records_provenance_and_reapply_reports(store_root):
    state = AppState(Store.open(store_root), version="v1")
    state.color_field = "anomaly_score"
    view = ClustersView(state)
    x, y = state.data.x, state.data.y
    bounds = (np.quantile(x, 0.2), np.quantile(y, 0.2), np.median(x), np.median(y))
    selected = state.select_box(bounds)
    view._name.value = "patch"
    view._on_save(None)
    notes = Annotations.of_store(state.store)
    saved = notes.cluster_provenance("patch")
    assert saved.version == "v1"
    assert saved.checkpoint_sha256 == "ab" * 32
    assert saved.geometry == {
        "kind": "box",
        "x0": bounds[0],
        "x1": bounds[2],
        "y0": bounds[1],
        "y1": bounds[3],
    }
    assert saved.settings["colour"] == "anomaly_score"
    assert view._reapply.disabled  # saved on the version shown

    state.version = "v2"
    view._choice.value = "patch"
    assert not view._reapply.disabled
    view.reapply()
    # by hand: v2's map aligned onto v1's, then the box
    from explorer.analysis.projection import align

    new, old = state.store.map_table("v2"), state.store.map_table("v1")
    xy = align(
        new[["x", "y"]].to_numpy(),
        old[["x", "y"]].to_numpy(),
        new_ids=new["id"].to_numpy(),
        old_ids=old["id"].to_numpy(),
    ).astype(np.float64)
    inside = (
        (xy[:, 0] >= bounds[0])
        & (xy[:, 0] <= bounds[2])
        & (xy[:, 1] >= bounds[1])
        & (xy[:, 1] <= bounds[3])
    )
    members = np.sort(new["id"].to_numpy()[inside])
    report = view._reapplied
    assert report.members.tolist() == members.tolist()
    stayed = np.intersect1d(selected, members)
    assert report.stayed.tolist() == stayed.tolist()
    assert len(report.joined) == len(members) - len(stayed)
    assert len(report.left) == len(selected) - len(stayed)
    assert f"{len(stayed):,} stayed" in view._report.object
    assert not view._reapply_select.disabled
    view._reapply_select.clicks += 1
    assert state.selection_ids.tolist() == members.tolist()
