"""``latentsky bench ssl``: speed and representation quality of the SSL encoder.

Builds the synthetic demo survey (or uses ``--store``), trains SimCLR on all of
its cutouts (labels unused), and measures

* training and embedding throughput (images/s) on the chosen device;
* k-NN (k = 10, cosine) and linear-probe (logistic regression) accuracy of the
  representation ``h`` on the hidden ``_truth_label`` column, with a
  stratified held-out split, after every epoch (k-NN on a subset: the
  accuracy-vs-epochs curve) and in full at the end;
* the same accuracies for two pixel baselines: PCA-64 of the flattened
  cutouts (a) standardised per pixel and (b) asinh-stretched per image.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

LABEL = "_truth_label"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags of the ssl benchmark (``--out`` is added by the dispatcher)."""
    parser.add_argument("--n", type=int, default=8000, help="sources in the survey")
    parser.add_argument(
        "--store",
        default=None,
        help="use this store (needs a _truth_label column) instead of "
        "generating the demo survey",
    )
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--width", type=int, default=16)
    parser.add_argument("--layers", default="1,1,1,1", help="blocks per ResNet stage")
    parser.add_argument("--crop", type=int, default=32)
    parser.add_argument("--temperature", type=float, default=0.2)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--method", choices=("simclr", "byol"), default="simclr")
    parser.add_argument(
        "--eval-n",
        type=int,
        default=3000,
        help="sources in the per-epoch k-NN evaluation subset",
    )
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    parser.add_argument("--seed", type=int, default=0)


# ---------------------------------------------------------------- evaluation
def split_rows(
    labels: np.ndarray, test_fraction: float = 0.25, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Stratified train/test row split (classes with one member go to train)."""
    from sklearn.model_selection import train_test_split

    rows = np.arange(len(labels))
    values, counts = np.unique(labels, return_counts=True)
    solo = np.isin(labels, values[counts < 2])
    train, test = train_test_split(
        rows[~solo], test_size=test_fraction, random_state=seed, stratify=labels[~solo]
    )
    return np.sort(np.concatenate([train, rows[solo]])), np.sort(test)


def knn_accuracy(
    features: np.ndarray,
    labels: np.ndarray,
    train: np.ndarray,
    test: np.ndarray,
    k: int = 10,
) -> float:
    """Accuracy of a cosine k-NN classifier fit on ``train``, scored on ``test``."""
    from sklearn.neighbors import KNeighborsClassifier

    clf = KNeighborsClassifier(n_neighbors=k, metric="cosine")
    clf.fit(features[train], labels[train])
    return float(clf.score(features[test], labels[test]))


def linear_accuracy(
    features: np.ndarray, labels: np.ndarray, train: np.ndarray, test: np.ndarray
) -> float:
    """Accuracy of a logistic-regression probe on standardised features."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(features[train])
    clf = LogisticRegression(max_iter=3000)
    clf.fit(scaler.transform(features[train]), labels[train])
    return float(clf.score(scaler.transform(features[test]), labels[test]))


def evaluate(
    features: np.ndarray, labels: np.ndarray, train: np.ndarray, test: np.ndarray
) -> dict[str, float]:
    """``{"knn_accuracy", "linear_accuracy"}`` of ``features`` on the split."""
    features = np.asarray(features, dtype=np.float32)
    return {
        "knn_accuracy": knn_accuracy(features, labels, train, test),
        "linear_accuracy": linear_accuracy(features, labels, train, test),
    }


def pixel_baselines(store, n_components: int = 64) -> dict[str, np.ndarray]:
    """PCA-64 of flattened cutouts, per-pixel standardised and per-image asinh.

    The same features as the dashboard's baselines
    (:func:`explorer.analysis.features.pixel_pca`, streamed over the store's shards).
    """
    from explorer.analysis.features import pixel_pca

    return {
        kind: np.asarray(pixel_pca(store, n_components=n_components, kind=kind))
        for kind in ("standardise", "asinh")
    }


# ---------------------------------------------------------------------- run
def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return platform.processor() or "unknown CPU"


def _demo_store(n: int, root: Path) -> Any:
    from explorer.ingest.synthetic import BANDS, iter_survey
    from explorer.store import Store

    with Store.build(
        root, list(BANDS), 64, source=f"synthetic n={n} seed=0"
    ) as builder:
        for cube, catalog in iter_survey(n, size=64, seed=0, batch=1024):
            builder.append(cube, catalog)
    return builder.store


def run(args: argparse.Namespace) -> Path:
    """Run the benchmark and write ``ssl-<date>.json`` under ``args.out``."""
    import torch

    from explorer.bench import write_result
    from explorer.errors import DataError
    from explorer.store import Store
    from models.config import TrainConfig
    from models.embed import embed_store, encode
    from models.train import resolve_device, train

    torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    if device.type == "cuda":
        device_name = f"cuda ({torch.cuda.get_device_name(device)})"
    else:
        device_name = f"cpu ({_cpu_model()}, {args.threads} threads)"
    work = Path(tempfile.mkdtemp(prefix="latentsky-bench-ssl-"))
    try:
        t0 = time.perf_counter()
        store = (
            Store.open(args.store)
            if args.store
            else _demo_store(args.n, work / "store")
        )
        build_s = time.perf_counter() - t0
        if LABEL not in store.catalog:
            msg = f"store {store.root} has no {LABEL!r} column to evaluate against"
            raise DataError(msg)
        labels = store.catalog[LABEL].astype(str).to_numpy()
        train_rows, test_rows = split_rows(labels, seed=args.seed)
        rng = np.random.default_rng(args.seed)
        sub = np.sort(
            rng.choice(len(labels), min(args.eval_n, len(labels)), replace=False)
        )
        sub_train, sub_test = split_rows(labels[sub], seed=args.seed)
        sub_cutouts = torch.from_numpy(store.cutouts_at(sub)).to(device)

        t0 = time.perf_counter()
        baselines = {
            kind: evaluate(f, labels, train_rows, test_rows)
            for kind, f in pixel_baselines(store).items()
        }
        baseline_s = time.perf_counter() - t0
        log.info("pixel baselines: %s", baselines)

        config = TrainConfig(
            method=args.method,
            width=args.width,
            layers=[int(v) for v in args.layers.split(",")],
            crop=args.crop,
            epochs=args.epochs,
            batch_size=args.batch_size,
            lr=args.lr,
            temperature=args.temperature,
            seed=args.seed,
            threads=args.threads,
        )

        def curve(model, epoch: int) -> dict[str, float]:
            h = (
                torch.cat(
                    [
                        encode(model, config, sub_cutouts[i : i + 512])
                        for i in range(0, len(sub), 512)
                    ]
                )
                .cpu()
                .numpy()
            )
            acc = knn_accuracy(h, labels[sub], sub_train, sub_test)
            log.info("epoch %d: subset k-NN accuracy %.3f", epoch, acc)
            return {"subset_knn_accuracy": acc}

        t0 = time.perf_counter()
        result = train(
            store, work / "ckpt.pt", config, device=str(device), on_epoch_end=curve
        )
        train_s = time.perf_counter() - t0
        history = result["history"]

        t0 = time.perf_counter()
        embed_store(store, work / "ckpt.pt", "bench", device=str(device), analyse=False)
        embed_s = time.perf_counter() - t0
        h = np.asarray(store.reload().embeddings("bench"))
        ssl = evaluate(h, labels, train_rows, test_rows)
        best = max(baselines, key=lambda k: baselines[k]["knn_accuracy"])
        margin = ssl["knn_accuracy"] - baselines[best]["knn_accuracy"]
        results = {
            "device": device_name,
            "threads": args.threads,
            "n_sources": store.n_sources,
            "store": str(args.store or "synthetic demo survey (seed 0)"),
            "split": {
                "train": len(train_rows),
                "test": len(test_rows),
                "classes": {
                    str(k): int(v)
                    for k, v in zip(*np.unique(labels, return_counts=True), strict=True)
                },
            },
            "config": result["config"],
            "epochs": args.epochs,
            "train_minutes": round(train_s / 60, 2),
            "train_images_per_s": round(
                float(np.mean([e["images_per_s"] for e in history])), 1
            ),
            "embed_images_per_s": round(store.n_sources / embed_s, 1),
            "embed_seconds": round(embed_s, 1),
            "ssl": ssl,
            "baselines": baselines,
            "stronger_baseline": best,
            "knn_margin_over_stronger_baseline": round(margin, 4),
            "target_met": bool(margin >= 0.10),
            "curve": [
                {
                    "epoch": e["epoch"],
                    "loss": round(e["loss"], 4),
                    "subset_knn_accuracy": round(e["subset_knn_accuracy"], 4),
                    "seconds": round(e["seconds"], 1),
                }
                for e in history
            ],
            "eval_subset": len(sub),
            "store_build_seconds": round(build_s, 1),
            "baseline_seconds": round(baseline_s, 1),
        }
        log.info("SSL %s vs baselines %s (margin %.3f)", ssl, baselines, margin)
        return write_result("ssl", results, args.out, device=device_name)
    finally:
        shutil.rmtree(work, ignore_errors=True)
