"""``embed --dask``: embeddings equal to the single-process path's."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from explorer.cli import main
from explorer.distributed.embed import blocks, embed_version_on_dask
from explorer.errors import DataError
from explorer.jobs.runner import embed_version
from explorer.store import Store, layout


def test_blocks_cover_every_row_once_in_order():
    assert blocks(10, 4) == [(0, 4), (4, 8), (8, 10)]
    assert blocks(3, 5) == [(0, 3)]
    with pytest.raises(DataError, match="rows per task must be >= 1, got 0"):
        blocks(3, 0)


@pytest.mark.slow
def test_embeddings_equal_the_single_process_path(
    dask_client, small_store, tiny_checkpoint, tmp_path
):
    single, dasked = tmp_path / "single", tmp_path / "dask"
    shutil.copytree(small_store, single)
    shutil.copytree(small_store, dasked)
    embed_version(
        single, tiny_checkpoint, "v1", device="cpu", progress=False, analyse=False
    )
    # 4 tasks of 128 rows (the last one 16): blocks written out of order
    embed_version_on_dask(
        dask_client,
        dasked,
        tiny_checkpoint,
        "v1",
        device="cpu",
        rows_per_task=128,
        progress=False,
        analyse=False,
    )
    a = np.load(Store.open(single).version_file("v1", layout.EMBEDDINGS))
    b = np.load(Store.open(dasked).version_file("v1", layout.EMBEDDINGS))
    assert a.dtype == b.dtype == np.float32 and a.shape == b.shape
    np.testing.assert_allclose(b, a, rtol=0, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(b, axis=1), 1.0, atol=1e-5)
    config = json.loads(
        Store.open(dasked).version_file("v1", layout.CONFIG).read_text()
    )
    reference = json.loads(
        Store.open(single).version_file("v1", layout.CONFIG).read_text()
    )
    assert config["dask"] == {"tasks": 4, "rows_per_task": 128}
    for key in ("checkpoint_sha256", "embedding_dim", "n_sources", "training_config"):
        assert config[key] == reference[key]
    entry = Store.open(dasked).version_info("v1")
    assert (
        entry["embedding_dim"] == Store.open(single).version_info("v1")["embedding_dim"]
    )


@pytest.mark.slow
def test_cli_embed_on_the_scheduler_analyses_on_it(
    dask_client, small_store_copy, tiny_checkpoint
):
    address = dask_client.scheduler.address
    argv = ["embed", str(small_store_copy), "--checkpoint", str(tiny_checkpoint)]
    argv += ["--version", "v1", "--device", "cpu", "--map", "pca"]
    assert main([*argv, "--scheduler", address]) == 0
    store = Store.open(small_store_copy)
    assert store.current_version == "v1"
    info = json.loads(store.version_file("v1", layout.ANALYSIS).read_text())
    assert info["dask"]["workers"] == 2 and info["dask"]["scheduler"] == address
    table = pd.read_parquet(store.version_file("v1", layout.MAP))
    assert len(table) == store.n_sources and table["anomaly_score"].notna().all()


def test_missing_checkpoint_is_a_one_line_error_before_any_task(
    dask_client, small_store_copy, tmp_path, capsys
):
    argv = ["embed", str(small_store_copy), "--checkpoint", str(tmp_path / "no.pt")]
    argv += ["--version", "v1", "--scheduler", dask_client.scheduler.address]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("latentsky embed: error: checkpoint ")
    assert "does not exist" in err[-1]
    assert Store.open(small_store_copy).versions == []
