"""Tests of models.embed and the checkpoint checks: versions, norms, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from explorer.errors import DataError, LatentskyError, StoreError
from explorer.store import Store
from models.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from models.embed import embed_arrays, embed_store


@pytest.mark.slow
def test_embed_writes_normalised_version_with_config(small_store_copy, tiny_checkpoint):
    store = Store.open(small_store_copy)
    path = embed_store(store, tiny_checkpoint, "v1", device="cpu", batch_size=96)
    store.reload()
    assert path == store.version_dir("v1") and store.current_version == "v1"
    emb = store.embeddings("v1")
    assert emb.shape == (400, 32) and emb.dtype == np.float32
    assert np.allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)
    assert len(np.unique(np.round(emb, 4), axis=0)) > 300  # not collapsed to one point
    config = store.version_config("v1")
    import hashlib

    assert (
        config["checkpoint_sha256"]
        == hashlib.sha256(tiny_checkpoint.read_bytes()).hexdigest()
    )
    assert config["embedding_dim"] == 32 and config["device"] == "cpu"
    assert config["training_config"]["width"] == 4 and "created" in config
    assert store.version_info("v1")["embedding_dim"] == 32
    # the upload path gives the same rows as the store path
    rows = np.array([0, 7, 399, 123])
    again = embed_arrays(tiny_checkpoint, store.cutouts_at(rows), device="cpu")
    assert np.allclose(again, emb[rows], atol=1e-5)
    with pytest.raises(StoreError, match="already has a version"):
        embed_store(store, tiny_checkpoint, "v1", device="cpu")


def test_embed_arrays_single_cutout_and_bad_shapes(small_survey, tiny_checkpoint):
    cube, _ = small_survey
    one = embed_arrays(tiny_checkpoint, cube[0], device="cpu")
    assert one.shape == (1, 32)
    with pytest.raises(DataError, match="expected"):
        embed_arrays(tiny_checkpoint, cube[0, 0], device="cpu")
    with pytest.raises(CheckpointError, match=r"32x32 px .* 24x24 px"):
        embed_arrays(tiny_checkpoint, cube[:2, :, :24, :24], device="cpu")
    with pytest.raises(CheckpointError, match="3 bands .* 2 bands"):
        embed_arrays(tiny_checkpoint, cube[:2, :2], device="cpu")


def _two_band_store(root: Path) -> Path:
    rng = np.random.default_rng(0)
    with Store.build(root, ["u", "i"], 32) as builder:
        cat = pd.DataFrame(
            {"id": np.arange(10), "ra": np.ones(10), "dec": np.zeros(10)}
        )
        builder.append(rng.normal(size=(10, 2, 32, 32)).astype(np.float32), cat)
    return root


def test_band_mismatch_names_both_sides(tmp_path, tiny_checkpoint):
    root = _two_band_store(tmp_path / "two")
    with pytest.raises(CheckpointError, match=r"3 bands \(g, r, z\).*2 bands \(u, i\)"):
        embed_store(root, tiny_checkpoint, "v1", device="cpu")
    assert Store.open(root).versions == []


def test_architecture_mismatch_is_named(tmp_path, tiny_checkpoint, small_store):
    state = load_checkpoint(tiny_checkpoint)
    state["config"]["width"] = 8  # weights are width 4
    for key in ("format", "format_version", "created"):
        state.pop(key)
    wrong = tmp_path / "wrong.pt"
    save_checkpoint(wrong, state)
    with pytest.raises(CheckpointError, match="width 8"):
        embed_arrays(wrong, np.zeros((1, 3, 32, 32), np.float32))


@pytest.mark.parametrize(
    "content", [b"", b"not a checkpoint at all", b"PK\x03\x04junk"]
)
def test_corrupt_checkpoint_is_a_clear_error(tmp_path, content):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(content)
    with pytest.raises(CheckpointError, match="corrupt") as excinfo:
        load_checkpoint(bad)
    # never the unsafe advice of torch's own message
    assert "weights_only" not in str(excinfo.value)


def test_truncated_and_foreign_checkpoints(tmp_path, tiny_checkpoint):
    cut = tmp_path / "cut.pt"
    cut.write_bytes(tiny_checkpoint.read_bytes()[:5000])
    with pytest.raises(CheckpointError, match="corrupt"):
        load_checkpoint(cut)
    foreign = tmp_path / "foreign.pt"
    torch.save({"state_dict": {"fc.weight": torch.zeros(2, 2)}}, foreign)
    with pytest.raises(CheckpointError, match="not a latentsky checkpoint"):
        load_checkpoint(foreign)
    with pytest.raises(CheckpointError, match="does not exist"):
        load_checkpoint(tmp_path / "missing.pt")
    assert issubclass(CheckpointError, LatentskyError)


def test_embed_store_without_cutouts(small_store_copy, tiny_checkpoint):
    import shutil

    shutil.rmtree(Path(small_store_copy) / "cutouts.zarr")
    with pytest.raises(StoreError, match="no cutouts"):
        embed_store(small_store_copy, tiny_checkpoint, "v1", device="cpu")


def test_version_config_is_json(small_store_copy, tiny_checkpoint):
    store = Store.open(small_store_copy)
    embed_store(store, tiny_checkpoint, "vj", device="cpu")
    config = json.loads((store.reload().version_dir("vj") / "config.json").read_text())
    assert config["n_sources"] == 400


def test_batch_for_memory_fills_the_share_of_free_memory():
    from models.embed import batch_for_memory

    # 80 GiB free, 2 MiB per cutout, half of it: 20 480 -> clipped to 16 384
    assert batch_for_memory(80 * 2**30, 2 * 2**20) == 16384
    # 8 GiB free, 1.5 MiB per cutout: 0.5 * 8192 / 1.5 = 2730.7 -> 2560 (x256)
    assert batch_for_memory(8 * 2**30, 1.5 * 2**20) == 2560
    # too little memory for the lower bound still gives the lower bound
    assert batch_for_memory(10 * 2**20, 2**20) == 256
    assert batch_for_memory(2**30, 0.0) == 16384


def test_auto_batch_size_on_cpu_is_the_default(tiny_checkpoint):
    from models.embed import DEFAULT_BATCH, auto_batch_size, load_model

    model, config, _ = load_model(tiny_checkpoint, torch.device("cpu"))
    assert auto_batch_size(model, config, torch.device("cpu")) == DEFAULT_BATCH
