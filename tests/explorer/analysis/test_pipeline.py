"""The analysis pipeline on a real (small) store."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from explorer.analysis.neighbors import SimilarityIndex
from explorer.analysis.pipeline import (
    ANALYSIS,
    MAP_COLUMNS,
    analyse_directory,
    analyse_version,
)
from explorer.errors import DataError
from explorer.store import EMBEDDINGS, INDEX, MAP, Store


def _embeddings(store: Store, seed: int = 0) -> np.ndarray:
    from explorer.analysis.features import pixel_pca

    feats = pixel_pca(store, 16, progress=False)
    rot, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(16, 16)))
    feats = feats @ rot
    return (feats / np.linalg.norm(feats, axis=1, keepdims=True)).astype(np.float32)


@pytest.fixture(scope="module")
def analysed(analysed_store, tmp_path_factory):
    """A module-private copy of the shared store with an analysed version."""
    import shutil

    root = tmp_path_factory.mktemp("analysis") / "store"
    shutil.copytree(analysed_store, root)
    return Store.open(root)


def test_map_table_contract(analysed):
    store = analysed
    table = store.map_table("v1")
    assert list(table.columns[: len(MAP_COLUMNS)]) == list(MAP_COLUMNS)
    np.testing.assert_array_equal(table["id"].to_numpy(), store.ids)
    expected = {
        "id": np.int64,
        "x": np.float32,
        "y": np.float32,
        "anomaly_score": np.float32,
        "anomaly_rank": np.int32,
        "knn_distance": np.float32,
        "density": np.float32,
        "cluster": np.int32,
    }
    for col, dtype in expected.items():
        assert table[col].dtype == dtype, col
    assert sorted(table["anomaly_rank"]) == list(range(1, store.n_sources + 1))
    top = table.loc[table["anomaly_rank"] == 1, "anomaly_score"].item()
    assert top == table["anomaly_score"].max()
    assert np.isfinite(table[["x", "y", "anomaly_score"]].to_numpy()).all()
    assert table["cluster"].min() >= -1


def test_artefact_and_consistency_columns(analysed):
    from explorer.analysis.artefacts import FLAG_COLUMNS, artefact_flags

    store = analysed
    table = store.map_table("v1")
    for column in (*FLAG_COLUMNS, "pixel_residual", "max_rank", "science_anomaly"):
        assert column in table, column
    for column in ("map_consistency", "map_knn_distance", "hidden_in_map"):
        assert column in table, column
    assert table["cosmic_ray_flag"].dtype == bool
    assert table["map_consistency"].between(0, 1).all()
    info = json.loads(store.version_file("v1", ANALYSIS).read_text())
    assert info["anomaly"]["method"] == "family_max"
    np.testing.assert_allclose(table["anomaly_score"], table["family_max"])
    # the flags streamed shard by shard are those of the cutouts in one go
    direct = artefact_flags(store.cutouts_at(np.arange(store.n_sources)))
    for column in FLAG_COLUMNS:
        np.testing.assert_array_equal(table[column], direct[column], err_msg=column)
    summary = info["clusters"]["clusters"]
    assert sum(c["cluster_size"] for c in summary) == store.n_sources
    assert all(c["name"] != "auto cluster -1" for c in summary)
    for c in summary:
        if c["cluster"] >= 0:
            assert 1 <= len(c["typical_ids"]) <= 5
            members = table.loc[table["cluster"] == c["cluster"], "id"]
            assert set(c["typical_ids"]) <= set(members)


def test_index_and_record(analysed):
    store = analysed
    directory = store.version_dir("v1")
    info = json.loads((directory / ANALYSIS).read_text())
    assert info["index"]["kind"] == "flat"
    assert set(info["timings_s"]) >= {
        "index",
        "knn_graph",
        "anomaly",
        "clusters",
        "map",
    }
    index = SimilarityIndex.load(directory / INDEX, store.embeddings("v1"), store.ids)
    assert len(index.similar(store.ids[:1], 5)) == 5
    assert not any(p.name.startswith(".") for p in directory.iterdir())


def test_new_version_map_aligned_to_previous(analysed):
    store = analysed
    old = store.map_table("v1")
    with store.new_version("v2") as directory:
        np.save(directory / EMBEDDINGS, _embeddings(store, 1))
        analyse_directory(store, directory, previous="v1", progress=False)
    new = store.map_table("v2")
    a, b = new[["x", "y"]].to_numpy(), old[["x", "y"]].to_numpy()
    flipped = np.column_stack([-a[:, 0], a[:, 1]])
    resid = np.mean(np.sum((a - b) ** 2, axis=1))
    resid_flipped = np.mean(np.sum((flipped - b) ** 2, axis=1))
    assert resid < resid_flipped
    assert abs(a.mean(axis=0) - b.mean(axis=0)).max() < 0.5 * b.std()


def test_analyse_version_rewrites_files(analysed):
    store = analysed
    before = (store.version_dir("v1") / MAP).stat().st_mtime_ns
    info = analyse_version(store, "v1", progress=False)
    assert info["map"]["aligned_to"] is None
    assert (store.version_dir("v1") / MAP).stat().st_mtime_ns > before
    assert store.reload().version_info("v1")["index_kind"] == "flat"
    pd.testing.assert_series_equal(
        store.map_table("v1")["id"], pd.Series(store.ids, name="id")
    )


def test_nan_embeddings_refused(analysed, tmp_path):
    store = analysed
    emb = _embeddings(store)
    emb[[3, 5]] = np.nan
    np.save(tmp_path / EMBEDDINGS, emb)
    with pytest.raises(DataError, match=rf"ids \[{store.ids[3]}, {store.ids[5]}\]"):
        analyse_directory(store, tmp_path, progress=False)
    np.save(tmp_path / EMBEDDINGS, emb[:10])
    with pytest.raises(DataError, match="shape"):
        analyse_directory(store, tmp_path, progress=False)


def test_cli_analyse(analysed, capsys):
    from explorer.cli import main

    assert (
        main(["analyse", str(analysed.root), "--version", "v1", "--no-progress"]) == 0
    )
    assert "analysed v1" in capsys.readouterr().out
    assert main(["analyse", str(analysed.root), "--version", "nope"]) == 2
