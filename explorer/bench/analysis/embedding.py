"""The embedding a benchmark section evaluates: pixel PCA or the trained encoder.

``--embedding pca`` is the stand-in used when no encoder is assumed
(per-pixel standardised pixel PCA-64, L2-normalised); ``--embedding encoder``
embeds the survey with a checkpoint (``--checkpoint``, default the shipped
demo encoder ``assets/encoder-demo.pt``) exactly as ``latentsky embed``
does (encoder output ``h``, L2-normalised), which is what a user of
``latentsky demo`` gets. The encoder embedding is cached next to the cached
store, keyed by the checkpoint's hash.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

EMBEDDINGS = ("pca", "encoder")
#: The checkpoint ``latentsky demo`` embeds with.
DEMO_CHECKPOINT = Path(__file__).resolve().parents[3] / "assets" / "encoder-demo.pt"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def preset_embedding(
    store: Any, kind: str, seed: int, checkpoint: str | None = None
) -> tuple[np.ndarray, str]:
    """The ``(N, D)`` embedding of a benchmark store, and what it is.

    Parameters
    ----------
    store : Store
        A store of :func:`explorer.bench.analysis.data.preset_store`.
    kind : {"pca", "encoder"}
        Pixel-PCA stand-in or the trained encoder.
    seed : int
        Seed of the pixel PCA's sample.
    checkpoint : str, optional
        Encoder checkpoint (default :data:`DEMO_CHECKPOINT`).

    Returns
    -------
    (ndarray, str)
        ``(N, D)`` float32 unit rows, and a description for the JSON.

    Raises
    ------
    LatentskyError
        On an unknown kind, a missing checkpoint, or one trained on other
        bands or cutout sizes than the store's.
    """
    from explorer.errors import LatentskyError

    if kind == "pca":
        from explorer.analysis.features import pixel_pca

        emb = pixel_pca(store, 64, "standardise", seed=seed, progress=False)
        emb = emb / np.maximum(np.linalg.norm(emb, axis=1, keepdims=True), 1e-12)
        desc = "stand-in: pixel PCA-64 (per-pixel standardised), L2-normalised"
        return emb.astype(np.float32), desc
    if kind != "encoder":
        msg = f"unknown --embedding {kind!r} (choose from {EMBEDDINGS})"
        raise LatentskyError(msg)
    path = Path(checkpoint) if checkpoint else DEMO_CHECKPOINT
    if not path.is_file():
        msg = f"checkpoint {path} does not exist (--checkpoint)"
        raise LatentskyError(msg)
    sha = _sha256(path)
    root = Path(store.root)
    cache = root.parent / f"{root.name}-embedding-{sha[:16]}.npy"
    desc = f"encoder {path.name} (sha256 {sha[:12]}), output h, L2-normalised"
    if cache.is_file():
        return np.load(cache), desc
    from explorer.jobs.runner import encode_store

    log.info("embedding %s with %s", root, path)
    emb = encode_store(root, path, device="cpu", progress=False)
    np.save(cache, emb)
    return emb, desc
