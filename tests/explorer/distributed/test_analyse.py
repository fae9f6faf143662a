"""``analyse --dask``: k-NN graph and anomaly columns equal the in-process ones."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from explorer.analysis.pipeline import analyse_directory
from explorer.cli import main
from explorer.distributed.analyse import analyse_directory_on_dask, placed_umap
from explorer.store import Store, layout

#: Scores of each source's own neighbours: equal to float tolerance.
SCORES = (
    "knn_distance",
    "density",
    "lof",
    "pixel_knn_distance",
    "pixel_residual",
    "artefact_score",
)
#: Rank percentiles: two near-tied distances that swap order (1e-7 apart)
#: move a source's percentile by 1/N, so these are compared to 2/N.
RANKED = ("combined", "max_rank", "anomaly_score", "science_anomaly")


@pytest.fixture
def embedded(small_store_copy):
    """``small_store_copy`` with a published, unanalysed version ``v1``:
    unit-normalised pixel-PCA-16 embeddings (400 x 16)."""
    from explorer.analysis.features import pixel_pca

    store = Store.open(small_store_copy)
    vectors = pixel_pca(store, n_components=16, progress=False)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    with store.new_version("v1", info={"embedding_dim": 16}) as tmp:
        np.save(tmp / layout.EMBEDDINGS, vectors.astype(np.float32))
        (tmp / layout.CONFIG).write_text(json.dumps({"features": "pixel_pca"}))
    return store.reload()


def _mean_nearest(distance: np.ndarray, k: int) -> np.ndarray:
    """Mean of the ``k`` smallest off-diagonal entries per row (by hand)."""
    d = distance.astype(np.float64).copy()
    np.fill_diagonal(d, np.inf)
    return np.sort(d, axis=1)[:, :k].mean(axis=1)


@pytest.mark.slow
def test_scores_equal_the_single_process_path(dask_client, embedded, tmp_path):
    twin = Store.open(shutil.copytree(embedded.root, tmp_path / "twin"))
    analyse_directory(twin, twin.version_dir("v1"), progress=False, map_method="pca")
    single = pd.read_parquet(twin.version_file("v1", layout.MAP))
    directory = embedded.version_dir("v1")
    # 5 partitions of 96 rows (the last one 16): the pixel scan, the graph
    # against the saved index and the pixel k-NN, all as tasks
    info = analyse_directory_on_dask(
        dask_client,
        embedded,
        directory,
        progress=False,
        map_method="pca",
        partition_rows=96,
    )
    dasked = pd.read_parquet(directory / layout.MAP)
    assert list(dasked.columns) == list(single.columns)
    for column in SCORES:
        np.testing.assert_allclose(
            dasked[column], single[column], rtol=1e-5, atol=1e-6, err_msg=column
        )
    for column in RANKED:
        np.testing.assert_allclose(
            dasked[column], single[column], atol=2.0 / len(single), err_msg=column
        )
        assert np.isclose(dasked[column], single[column], atol=1e-6).mean() > 0.98
    assert (dasked["anomaly_rank"] == single["anomaly_rank"]).mean() > 0.98
    for column in ("id", "cosmic_ray_flag", "trail_flag", "saturated_flag"):
        assert (dasked[column] == single[column]).all(), column
    np.testing.assert_allclose(dasked[["x", "y"]], single[["x", "y"]], atol=1e-5)
    np.testing.assert_allclose(
        np.load(directory / layout.PIXEL_PCA),
        np.load(twin.version_file("v1", layout.PIXEL_PCA)),
        rtol=1e-5,
        atol=1e-5,
    )
    assert info["dask"]["partitions"] == 5 and info["dask"]["workers"] == 2
    # the science, by hand: mean cosine / pixel distance to the 10 nearest
    emb = np.load(directory / layout.EMBEDDINGS).astype(np.float64)
    cosine = 1.0 - emb @ emb.T
    np.testing.assert_allclose(
        dasked["knn_distance"], _mean_nearest(cosine, 10), atol=1e-5
    )
    pixel = np.load(directory / layout.PIXEL_PCA).astype(np.float64)
    euclid = np.sqrt(((pixel[:, None, :] - pixel[None, :, :]) ** 2).sum(-1))
    np.testing.assert_allclose(
        dasked["pixel_knn_distance"], _mean_nearest(euclid, 10), rtol=1e-4
    )


@pytest.mark.slow
def test_umap_fitted_on_a_sample_places_the_rest_per_partition(dask_client, embedded):
    directory = embedded.version_dir("v1")
    emb = np.load(directory / layout.EMBEDDINGS)
    xy, record = placed_umap(
        dask_client, emb, directory, k=15, seed=3, fit_max=150, partition_rows=100
    )
    assert record["fit_rows"] == 150 and record["params"]["placed_by"].startswith(
        "MapProjector.transform"
    )
    fit_rows = np.sort(np.random.default_rng(3).choice(400, 150, replace=False))
    rest = np.setdiff1d(np.arange(400), fit_rows)
    # by hand: the membership-weighted mean of the 15 nearest fitted sources
    sims = emb[rest].astype(np.float64) @ emb[fit_rows].astype(np.float64).T
    nearest = np.argsort(-sims, axis=1)[:, :15]
    d = 1.0 - np.take_along_axis(sims, nearest, axis=1)
    spread = np.maximum(d.mean(axis=1, keepdims=True) - d[:, :1], 1e-6)
    w = np.exp(-(d - d[:, :1]) / spread)
    w /= w.sum(axis=1, keepdims=True)
    expected = np.einsum("qk,qkd->qd", w, xy[fit_rows][nearest])
    np.testing.assert_allclose(xy[rest], expected, atol=1e-3)
    assert np.isfinite(xy).all()


@pytest.mark.slow
def test_cli_analyse_on_the_scheduler(dask_client, embedded, capsys):
    address = dask_client.scheduler.address
    argv = ["analyse", str(embedded.root), "--map", "pca", "--no-progress"]
    assert main([*argv, "--scheduler", address]) == 0
    assert "analysed v1: 400 sources" in capsys.readouterr().out
    info = json.loads(embedded.version_file("v1", layout.ANALYSIS).read_text())
    assert info["dask"]["scheduler"] == address
    assert Store.open(embedded.root).version_info("v1")["index_kind"] == "flat"
