"""Shared fixtures. Helpers may ADD fixtures at the end of this file."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

#: Geometry of the shared small survey.
SMALL_N = 400
SMALL_SIZE = 32
SMALL_SEED = 1


@pytest.fixture(scope="session")
def demo_fits(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Path of a synthetic FITS cube survey: 400 sources, 32x32 px, g r z, seed 1.

    Session-scoped and shared: do not modify it.
    """
    from explorer.ingest.synthetic import write_demo_survey

    path = tmp_path_factory.mktemp("demo") / "demo.fits"
    return write_demo_survey(path, SMALL_N, size=SMALL_SIZE, seed=SMALL_SEED)


@pytest.fixture(scope="session")
def small_survey():
    """``(cube (400, 3, 32, 32) float32, catalog)`` of :func:`demo_fits`, in memory.

    Row ``i`` is row ``i`` of :func:`small_store`. Do not modify the arrays.
    """
    from explorer.ingest.synthetic import make_cutouts

    return make_cutouts(SMALL_N, size=SMALL_SIZE, seed=SMALL_SEED)


@pytest.fixture(scope="session")
def small_store(demo_fits: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Path of a store built from :func:`demo_fits` (400 sources, 32x32, no versions).

    Session-scoped and shared by every test: treat it as read-only. Use
    :func:`small_store_copy` to add versions or annotations.
    """
    from explorer.ingest import ingest

    root = tmp_path_factory.mktemp("stores") / "small_store"
    ingest(demo_fits, root, progress=False)
    return root


@pytest.fixture
def small_store_copy(small_store: Path, tmp_path: Path) -> Path:
    """A private, writable copy of :func:`small_store` for one test."""
    target = tmp_path / "store"
    shutil.copytree(small_store, target)
    return target


def _tiny_train_config(**changes):
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
def tiny_config():
    """Factory ``tiny_config(**changes) -> TrainConfig`` of a tiny encoder."""
    return _tiny_train_config


@pytest.fixture(scope="session")
def tiny_checkpoint(
    small_store: Path, tmp_path_factory: pytest.TempPathFactory, tiny_config
) -> Path:
    """A 1-epoch SimCLR checkpoint (width 4, 32-dim h) of ``small_store``; read-only."""
    import torch

    from models.train import train

    threads = torch.get_num_threads()
    out = tmp_path_factory.mktemp("ckpt") / "tiny.pt"
    try:
        train(small_store, out, tiny_config(), device="cpu")
    finally:
        torch.set_num_threads(threads)
    return out


# ------------------------------------------- a store with an analysed version
def add_pca_version(root: Path, name: str = "v1", n_components: int = 16) -> None:
    """Add version ``name`` to the store at ``root``: L2-normalised pixel-PCA
    embeddings analysed by :func:`explorer.analysis.analyse_directory`."""
    from explorer.analysis.features import pixel_pca
    from explorer.analysis.pipeline import analyse_directory
    from explorer.store import Store

    store = Store.open(root)
    vectors = pixel_pca(store, n_components=n_components, progress=False)
    vectors = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    with store.new_version(name, info={"embedding_dim": n_components}) as tmp:
        np.save(tmp / "embeddings.npy", vectors.astype(np.float32))
        (tmp / "config.json").write_text(json.dumps({"features": "pixel_pca"}))
        analyse_directory(store, tmp, progress=False)


@pytest.fixture(scope="session")
def add_version():
    """``add_version(root, name="v1", n_components=16)``: :func:`add_pca_version`."""
    return add_pca_version


@pytest.fixture(scope="session")
def analysed_store(small_store: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of ``small_store`` with one analysed pixel-PCA version ``v1``.

    Session-scoped: read-only; use :func:`analysed_store_copy` to write.
    """
    root = tmp_path_factory.mktemp("app") / "analysed"
    shutil.copytree(small_store, root)
    add_pca_version(root)
    return root


@pytest.fixture
def analysed_store_copy(analysed_store: Path, tmp_path: Path) -> Path:
    """A private writable copy of :func:`analysed_store`."""
    target = tmp_path / "store"
    shutil.copytree(analysed_store, target)
    return target
