"""The shipped demo encoder: matches its record, loads safely, fits the demo survey."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import torch

from explorer.commands import demo
from models.checkpoint import load_checkpoint
from models.embed import embed_arrays


def test_record_matches_checkpoint():
    record = json.loads(demo.DEMO_RECORD.read_text())
    data = demo.DEMO_CHECKPOINT.read_bytes()
    assert record["sha256"] == hashlib.sha256(data).hexdigest()
    assert len(data) < 5 * 2**20
    state = torch.load(demo.DEMO_CHECKPOINT, weights_only=True)
    assert state["config"] == record["config"]
    assert state["epoch"] == record["config"]["epochs"]
    assert "latentsky train" in " ".join(record["commands"])
    assert load_checkpoint(demo.DEMO_CHECKPOINT)["config"]["bands"] == ["g", "r", "z"]


def test_shipped_encoder_embeds_demo_cutouts():
    from explorer.ingest.synthetic import make_cutouts

    cube, _ = make_cutouts(8, size=64, seed=3)
    emb = embed_arrays(demo.DEMO_CHECKPOINT, cube, device="cpu")
    record = json.loads(demo.DEMO_RECORD.read_text())
    assert emb.shape == (8, record["embedding_dim"])
    assert np.allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)
