"""Fixtures of the models tests: a tiny, fast training configuration and checkpoint."""

from __future__ import annotations

from pathlib import Path

import pytest


def tiny_config(**changes):
    """A TrainConfig small enough to train an epoch of 400 cutouts in about a second."""
    from models.config import TrainConfig

    base = TrainConfig(
        width=4,
        layers=[1, 1, 1, 1],
        proj_hidden=32,
        proj_dim=16,
        pred_hidden=32,
        epochs=1,
        batch_size=64,
        crop=16,
        num_workers=0,
        threads=1,
        warmup_epochs=0.5,
    )
    return base.replace(**changes)


@pytest.fixture(scope="session")
def tiny_checkpoint(
    small_store: Path, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """A 1-epoch SimCLR checkpoint trained on ``small_store`` (read-only)."""
    from models.train import train

    out = tmp_path_factory.mktemp("ckpt") / "tiny.pt"
    train(small_store, out, tiny_config(), device="cpu")
    return out
