"""Damaged stores and hostile checkpoints, run through the real ``latentsky`` command.

Table-driven: each case damages a COPY of a small store (two versions, a
FAISS index, a saved cluster), runs one command and expects exit 2 with one
``latentsky CMD: error: ...`` line naming the damaged file, no traceback,
and every file of the store byte-identical afterwards. ``serve`` must refuse
before it serves (it is given a timeout and killed if it ever starts).
"""

from __future__ import annotations

import json
import pickle
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from explorer.store import Store, layout

N = 60
#: Seconds ``serve`` may take to refuse a broken store (it imports Panel).
SERVE_TIMEOUT_S = 90


@pytest.fixture(scope="module")
def two_versions(tmp_path_factory) -> Path:
    """A 60-source 2-band 8x8 store with versions v1, v2 (current) and a cluster."""
    import faiss

    from explorer.store.annotations import Annotations

    root = tmp_path_factory.mktemp("bad") / "store"
    rng = np.random.default_rng(0)
    catalog = pd.DataFrame(
        {
            "id": np.arange(N, dtype=np.int64) + 10,
            "ra": rng.uniform(0, 360, N),
            "dec": rng.uniform(-90, 90, N),
        }
    )
    with Store.build(root, ["g", "r"], 8, source="unit test") as builder:
        builder.append(rng.normal(size=(N, 2, 8, 8)).astype(np.float32), catalog)
    store = Store.open(root)
    for name in ("v1", "v2"):
        emb = rng.normal(size=(N, 4)).astype(np.float32)
        emb /= np.linalg.norm(emb, axis=1, keepdims=True)
        with store.new_version(name, info={"embedding_dim": 4}) as tmp:
            np.save(tmp / layout.EMBEDDINGS, emb)
            pd.DataFrame(
                {
                    "id": catalog["id"],
                    "x": emb[:, 0],
                    "y": emb[:, 1],
                    "anomaly_score": rng.uniform(size=N),
                    "cluster": np.zeros(N, np.int32),
                }
            ).to_parquet(tmp / layout.MAP, index=False, write_page_checksum=True)
            index = faiss.IndexFlatIP(4)
            index.add(emb)
            faiss.write_index(index, str(tmp / layout.INDEX))
    Annotations.of_store(Store.open(root)).save_cluster("a", [10, 11])
    return root


def _truncate(path: Path, keep: float = 0.6) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


def _flip(path: Path, start: float = 0.3, stop: float = 0.6) -> None:
    """Invert the bytes between two fractions of the file (its data, not footer)."""
    data = bytearray(path.read_bytes())
    lo, hi = int(len(data) * start), int(len(data) * stop)
    data[lo:hi] = bytes(255 - b for b in data[lo:hi])
    path.write_bytes(bytes(data))


def _garbage(path: Path) -> None:
    path.write_bytes(np.random.default_rng(0).bytes(max(path.stat().st_size, 4096)))


def _manifest(change: Callable[[dict], None]) -> Callable[[Path], None]:
    def damage(path: Path) -> None:
        manifest = json.loads(path.read_text())
        change(manifest)
        path.write_text(json.dumps(manifest))

    return damage


@dataclass(frozen=True)
class Damage:
    """Damage ``file`` (relative to the store) with ``how``, run ``argv``."""

    name: str
    #: one file, or several (every version's, so that serve has none left)
    file: str | tuple[str, ...]
    how: Callable[[Path], None]
    argv: tuple[str, ...]
    message: str
    #: a known traceback outside this suite's files (the case is a strict xfail)
    bug: str = ""


V1, V2 = "versions/v1/", "versions/v2/"
EXPORT_IDS = ("export", "{store}", "--ids", "10,11", "--out", "{tmp}/o.csv")
TOP = ("export", "{store}", "--top-anomalies", "3", "--out", "{tmp}/o.csv")
ANALYSE_V1 = ("analyse", "{store}", "--version", "v1", "--no-progress")

DAMAGES = [
    Damage("flipped-catalog", layout.CATALOG, _flip, ANALYSE_V1, layout.CATALOG),
    Damage("truncated-catalog", layout.CATALOG, _truncate, EXPORT_IDS, layout.CATALOG),
    Damage("garbage-catalog", layout.CATALOG, _garbage, ("diff", "{store}", "v1"),
           layout.CATALOG),
    Damage("truncated-embeddings-analyse", V1 + layout.EMBEDDINGS, _truncate,
           ANALYSE_V1, "embeddings.npy"),
    Damage("truncated-embeddings-diff", V1 + layout.EMBEDDINGS, _truncate,
           ("diff", "{store}", "v1", "v2"), "embeddings.npy"),
    Damage("truncated-map-export", V2 + layout.MAP, _truncate, TOP, "map.parquet"),
    Damage("garbage-map-export", V2 + layout.MAP, _garbage, TOP, "map.parquet"),
    Damage("manifest-without-bands", layout.MANIFEST,
           _manifest(lambda m: m.pop("bands")), EXPORT_IDS, "bands"),
    Damage("manifest-text-n-sources", layout.MANIFEST,
           _manifest(lambda m: m.update(n_sources="many")), ANALYSE_V1, "n_sources"),
    Damage("manifest-garbage", layout.MANIFEST, _garbage, EXPORT_IDS,
           layout.MANIFEST),
    Damage("manifest-json-list", layout.MANIFEST, lambda p: p.write_text("[1, 2]"),
           EXPORT_IDS, layout.MANIFEST),
    Damage("manifest-truncated", layout.MANIFEST, _truncate,
           ("diff", "{store}", "v1"), layout.MANIFEST),
    Damage("garbage-annotations-export", layout.ANNOTATIONS, _garbage,
           ("export", "{store}", "--cluster", "a", "--out", "{tmp}/o.csv"),
           "annotations.sqlite"),
    Damage("truncated-zarr-metadata", f"{layout.CUTOUTS}/zarr.json", _truncate,
           EXPORT_IDS, "cutouts.zarr"),
]  # fmt: skip

SERVE = ("serve", "{store}", "--port", "0", "--no-warmup")
SERVE_DAMAGES = [
    Damage("serve-truncated-embeddings", (V1 + layout.EMBEDDINGS, V2 +
           layout.EMBEDDINGS), _truncate, SERVE, "embeddings.npy"),
    Damage("serve-truncated-map", (V1 + layout.MAP, V2 + layout.MAP), _truncate,
           SERVE, "map.parquet"),
    Damage("serve-flipped-catalog", layout.CATALOG, _flip, SERVE, layout.CATALOG),
    Damage("serve-garbage-catalog", layout.CATALOG, _garbage, SERVE,
           layout.CATALOG),
    Damage("serve-manifest-without-bands", layout.MANIFEST,
           _manifest(lambda m: m.pop("bands")), SERVE, "bands"),
    Damage("serve-truncated-zarr-metadata", f"{layout.CUTOUTS}/zarr.json",
           _truncate, SERVE, "cutouts.zarr"),
]  # fmt: skip


def _argv(argv: tuple[str, ...], store: Path, tmp: Path) -> list[str]:
    return [a.replace("{store}", str(store)).replace("{tmp}", str(tmp)) for a in argv]


def _damaged_copy(source: Path, tmp: Path, damage: Damage) -> Path:
    store = tmp / "store"
    shutil.copytree(source, store)
    files = (damage.file,) if isinstance(damage.file, str) else damage.file
    for file in files:
        target = store / file
        assert target.exists(), f"{file} is not in the test store"
        damage.how(target)
    return store


def _check_case(damage, two_versions, tmp_path, cli, one_line_error, tree_hash):
    store = _damaged_copy(two_versions, tmp_path, damage)
    before = tree_hash(store)
    timeout = SERVE_TIMEOUT_S if damage.argv[0] == "serve" else None
    kwargs = {"timeout": timeout} if timeout else {}
    result = cli(*_argv(damage.argv, store, tmp_path), **kwargs)
    one_line_error(result, damage.argv[0], damage.message)
    assert tree_hash(store) == before
    assert not (tmp_path / "o.csv").exists()


def _params(damages: list[Damage]) -> list:
    """One pytest param per case; a known bug is a strict xfail naming it."""
    return [
        pytest.param(
            d,
            id=d.name,
            marks=[pytest.mark.xfail(strict=True, reason=d.bug)] if d.bug else [],
        )
        for d in damages
    ]


@pytest.mark.parametrize("damage", _params(DAMAGES))
def test_a_damaged_store_is_one_clear_error_and_unchanged(
    damage, two_versions, tmp_path, latentsky_cli, one_line_error, tree_hash
):
    _check_case(
        damage, two_versions, tmp_path, latentsky_cli, one_line_error, tree_hash
    )


@pytest.mark.slow
@pytest.mark.parametrize("damage", _params(SERVE_DAMAGES))
def test_serve_refuses_a_damaged_store_before_serving(
    damage, two_versions, tmp_path, latentsky_cli, one_line_error, tree_hash
):
    _check_case(
        damage, two_versions, tmp_path, latentsky_cli, one_line_error, tree_hash
    )


# ------------------------------------------------------------------ embed cases
def _embed(cli, store: Path, checkpoint: Path, version: str = "new"):
    return cli(
        "embed", store, "--checkpoint", checkpoint, "--version", version,
        "--device", "cpu", "--no-analysis",
    )  # fmt: skip


@pytest.mark.slow
def test_a_corrupt_zarr_shard_during_embed_names_the_rows(
    small_store_copy, tiny_checkpoint, latentsky_cli, one_line_error, tree_hash
):
    shards = sorted(
        p for p in (small_store_copy / layout.CUTOUTS).rglob("*") if p.is_file()
        and p.name != "zarr.json"
    )  # fmt: skip
    assert shards, "no shard file in the store"
    _flip(shards[0], 0.2, 0.5)
    before = tree_hash(small_store_copy)
    result = _embed(latentsky_cli, small_store_copy, tiny_checkpoint)
    one_line_error(result, "embed", "rows 0")
    assert "zstd" not in result.stderr.lower() or "shard" in result.stderr.lower()
    assert tree_hash(small_store_copy) == before


def _evil_checkpoint(path: Path, marker: Path, *, torch_zip: bool) -> None:
    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    state = {"format": "latentsky-checkpoint", "config": {}, "model": Payload()}
    if torch_zip:
        import torch

        torch.save(state, path)
    else:
        path.write_bytes(pickle.dumps(state))


@pytest.mark.slow
@pytest.mark.parametrize("torch_zip", [True, False], ids=["torch-zip", "raw-pickle"])
def test_a_pickle_bearing_checkpoint_never_runs_its_payload(
    torch_zip, two_versions, tmp_path, latentsky_cli, one_line_error, tree_hash
):
    store = tmp_path / "store"
    shutil.copytree(two_versions, store)
    marker = tmp_path / "PAYLOAD_RAN"
    checkpoint = tmp_path / "evil.pt"
    _evil_checkpoint(checkpoint, marker, torch_zip=torch_zip)
    assert not marker.exists()
    before = tree_hash(store)
    result = _embed(latentsky_cli, store, checkpoint)
    assert not marker.exists(), "unpickling ran the checkpoint's payload"
    one_line_error(result, "embed", "evil.pt")
    assert "weights_only=False" not in result.stderr
    assert tree_hash(store) == before


@pytest.mark.slow
@pytest.mark.parametrize(
    "make,message",
    [
        ("other-model", "trained on 3 bands"),
        ("garbage", "corrupt"),
        ("truncated", "corrupt"),
        ("missing", "does not exist"),
    ],
    ids=["other-model", "garbage", "truncated", "missing"],
)
def test_a_wrong_checkpoint_is_one_clear_error(
    make, message, two_versions, tiny_checkpoint, tmp_path, latentsky_cli,
    one_line_error, tree_hash,
):  # fmt: skip
    store = tmp_path / "store"
    shutil.copytree(two_versions, store)
    checkpoint = tmp_path / "c.pt"
    if make == "other-model":  # 3 bands, 32 px: the store has 2 bands, 8 px
        shutil.copy(tiny_checkpoint, checkpoint)
    elif make == "garbage":
        checkpoint.write_bytes(np.random.default_rng(0).bytes(5000))
    elif make == "truncated":
        shutil.copy(tiny_checkpoint, checkpoint)
        _truncate(checkpoint, 0.5)
    before = tree_hash(store)
    result = _embed(latentsky_cli, store, checkpoint)
    one_line_error(result, "embed", message)
    assert tree_hash(store) == before
