"""Tests of models.train: loss goes down, checkpoints, resume, guards, interruption."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from explorer.errors import StoreError
from models import methods as methods_module
from models.checkpoint import load_checkpoint
from models.train import TrainingError, resolve_device, train


def test_resolve_device_auto_is_cpu_without_cuda():
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected
    if not torch.cuda.is_available():
        with pytest.raises(TrainingError, match="CUDA"):
            resolve_device("cuda")


@pytest.mark.slow
@pytest.mark.parametrize("method", ["simclr", "byol"])
def test_training_lowers_loss_and_writes_safe_checkpoint(
    small_store, tmp_path, method, tiny_config
):
    out = tmp_path / "ckpt.pt"
    events = []
    result = train(
        small_store,
        out,
        tiny_config(method=method, epochs=3, lr=3e-3),
        device="cpu",
        progress=events.append,
    )
    losses = [e["loss"] for e in result["history"]]
    assert len(losses) == 3 and all(np.isfinite(losses))
    assert losses[-1] < losses[0]
    state = torch.load(out, weights_only=True)  # plain data only
    assert state["epoch"] == 3 and state["config"]["method"] == method
    assert (
        state["config"]["bands"] == ["g", "r", "z"]
        and state["config"]["cutout_size"] == 32
    )
    assert ("target" in state) == (method == "byol")
    assert events and {
        "phase",
        "epoch",
        "fraction",
        "loss",
        "images_per_s",
        "eta_s",
    } <= set(events[-1])
    assert events[-1]["fraction"] == pytest.approx(1.0)
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt.pt"]  # no temporaries left


@pytest.mark.slow
def test_resume_continues_epoch_count(small_store, tmp_path, tiny_config):
    out = tmp_path / "ckpt.pt"
    train(small_store, out, tiny_config(epochs=1), device="cpu")
    first = load_checkpoint(out)
    result = train(small_store, out, tiny_config(epochs=2), device="cpu", resume=True)
    state = load_checkpoint(out)
    assert state["epoch"] == 2 and len(result["history"]) == 2
    assert state["step"] == 2 * first["step"]
    assert result["history"][0] == first["history"][0]
    # the resumed run started from the saved weights, not from scratch
    first_conv = next(k for k in first["model"] if k.endswith("0.weight"))
    w0 = first["model"][first_conv]
    assert not torch.equal(w0, state["model"][first_conv])


@pytest.mark.slow
def test_interrupt_mid_epoch_keeps_last_good_checkpoint(
    small_store, tmp_path, tiny_config
):
    out = tmp_path / "ckpt.pt"
    train(small_store, out, tiny_config(epochs=1), device="cpu")
    before = out.read_bytes()

    def interrupt(event):
        if event["epoch"] == 2 and event["step"] >= 8:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(
            small_store,
            out,
            tiny_config(epochs=3),
            device="cpu",
            resume=True,
            progress=interrupt,
        )
    assert out.read_bytes() == before
    assert load_checkpoint(out)["epoch"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt.pt"]


@pytest.mark.slow
def test_non_finite_losses_are_skipped_then_abort(
    small_store, tmp_path, monkeypatch, tiny_config
):
    real = methods_module.nt_xent
    calls = {"n": 0}

    def flaky(z1, z2, temperature):
        calls["n"] += 1
        loss = real(z1, z2, temperature)
        return loss * float("nan") if calls["n"] <= 2 else loss

    monkeypatch.setattr(methods_module, "nt_xent", flaky)
    out = tmp_path / "ok.pt"
    result = train(small_store, out, tiny_config(epochs=1), device="cpu")
    state = load_checkpoint(out)
    assert state["step"] == calls["n"] - 2  # two steps skipped, the rest taken
    assert np.isfinite(result["history"][0]["loss"])
    for p in state["model"].values():
        assert torch.isfinite(p.float()).all()

    monkeypatch.setattr(
        methods_module,
        "nt_xent",
        lambda z1, z2, temperature: real(z1, z2, temperature) * float("inf"),
    )
    bad = tmp_path / "bad.pt"
    with pytest.raises(TrainingError, match="non-finite"):
        train(small_store, bad, tiny_config(epochs=1, max_bad_steps=3), device="cpu")
    assert not bad.exists()


def test_store_without_cutouts_is_a_clear_error(
    small_store_copy, tmp_path, tiny_config
):
    import shutil

    shutil.rmtree(Path(small_store_copy) / "cutouts.zarr")
    with pytest.raises(StoreError, match="no cutouts"):
        train(small_store_copy, tmp_path / "c.pt", tiny_config(), device="cpu")


def test_invalid_config_values_are_rejected(tiny_config):
    with pytest.raises(ValueError, match="method"):
        tiny_config(method="moco")
    with pytest.raises(ValueError, match="temperature"):
        tiny_config(temperature=0.0)
    with pytest.raises(ValueError, match="batch_size"):
        tiny_config(batch_size=1)


@pytest.mark.slow
def test_cli_train_then_embed(small_store_copy, tmp_path):
    from explorer.cli import main
    from explorer.store import Store

    out = tmp_path / "cli.pt"
    assert (
        main(
            [
                "train",
                str(small_store_copy),
                "--out",
                str(out),
                "--epochs",
                "1",
                "--width",
                "4",
                "--layers",
                "1,1,1,1",
                "--crop",
                "16",
                "--batch-size",
                "64",
                "--workers",
                "0",
                "--threads",
                "1",
                "--device",
                "cpu",
            ]
        )
        == 0
    )
    config = load_checkpoint(out)["config"]
    assert (config["width"], config["crop"], config["layers"]) == (4, 16, [1, 1, 1, 1])
    assert (
        main(
            [
                "embed",
                str(small_store_copy),
                "--checkpoint",
                str(out),
                "--version",
                "cli",
                "--device",
                "cpu",
                "--no-analysis",
            ]
        )
        == 0
    )
    store = Store.open(small_store_copy)
    assert store.current_version == "cli"
    assert store.embeddings("cli").shape == (store.n_sources, 32)
    assert (
        main(["train", str(small_store_copy), "--out", str(out), "--temperature", "-1"])
        == 2
    )
