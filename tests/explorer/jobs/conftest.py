"""Fixtures of the job tests: a store with a hand-made version, file digests."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from explorer.store import Store


@pytest.fixture
def job_env(monkeypatch):
    """Keep job processes to one thread on the shared CI machine."""
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.delenv("LATENTSKY_JOB_STALL_PHASE", raising=False)
    return monkeypatch


def _make_version(root: Path, checkpoint: Path, name: str = "v1") -> Store:
    """Give the store a (hand-made) current version that names ``checkpoint``."""
    store = Store.open(root)
    rng = np.random.default_rng(0)
    emb = rng.normal(size=(store.n_sources, 32)).astype(np.float32)
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    with store.new_version(name, info={"embedding_dim": 32}) as tmp:
        np.save(tmp / "embeddings.npy", emb)
        pd.DataFrame(
            {
                "id": store.ids,
                "x": rng.normal(size=store.n_sources).astype(np.float32),
                "y": rng.normal(size=store.n_sources).astype(np.float32),
            }
        ).to_parquet(tmp / "map.parquet", index=False)
        (tmp / "config.json").write_text(json.dumps({"checkpoint": str(checkpoint)}))
    return store


def _digest_files(directory: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(directory.iterdir())
    }


@pytest.fixture
def with_version():
    """``with_version(root, checkpoint, name="v1") -> Store`` (a hand-made version)."""
    return _make_version


@pytest.fixture
def digest():
    """``digest(directory) -> {name: sha256}`` of a directory's files."""
    return _digest_files
