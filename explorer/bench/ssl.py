"""``latentsky bench ssl``: speed and representation quality of the SSL encoder.

Builds the synthetic demo survey (or uses a given store), trains the encoder
on all of its cutouts (labels unused), and measures

* training and embedding throughput (images/s) on the chosen device;
* k-NN (k = 10, cosine) and linear-probe (logistic regression) accuracy of the
  representation ``h`` on the hidden ``_truth_label`` column, with a
  stratified held-out split, after every epoch (k-NN on a subset: the
  accuracy-vs-epochs curve) and in full at the end;
* the same accuracies for two pixel baselines: PCA-64 of the flattened
  cutouts (a) standardised per pixel and (b) asinh-stretched per image.

Training and embedding go through the gateway :mod:`explorer.jobs.runner`
(this module never imports torch); the flags live in
:mod:`explorer.commands.bench`.
"""

from __future__ import annotations

import logging
import platform
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from explorer.errors import DataError
from explorer.store import Store

log = logging.getLogger(__name__)

LABEL = "_truth_label"
#: the benchmark's own training defaults (a small ResNet that trains on a CPU)
TRAINING_DEFAULTS: dict[str, Any] = {
    "method": "simclr",
    "epochs": 6,
    "batch_size": 256,
    "width": 16,
    "layers": [1, 1, 1, 1],
    "crop": 32,
    "temperature": 0.2,
    "lr": 2e-3,
    "threads": 2,
    "seed": 0,
}
#: the k-NN margin over the stronger pixel baseline the encoder should reach
TARGET_MARGIN = 0.10
#: cutouts per forward pass of the per-epoch subset evaluation
EVAL_BATCH = 512


# ---------------------------------------------------------------- evaluation
def split_rows(
    labels: np.ndarray, test_fraction: float = 0.25, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Stratified train/test row split (classes with one member go to train).

    Parameters
    ----------
    labels : ndarray
        ``(N,)`` class labels.
    test_fraction : float
        Fraction of the splittable rows held out.
    seed : int
        Seed of the split.

    Returns
    -------
    train, test : ndarray
        Sorted, disjoint row indices covering all ``N`` rows.
    """
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
    """Accuracy of a cosine k-NN classifier fit on ``train``, scored on ``test``.

    Parameters
    ----------
    features : ndarray
        ``(N, D)`` features.
    labels : ndarray
        ``(N,)`` class labels.
    train, test : ndarray
        Row indices (:func:`split_rows`).
    k : int
        Neighbours voting.

    Returns
    -------
    float
        Fraction of ``test`` rows classified correctly.
    """
    from sklearn.neighbors import KNeighborsClassifier

    clf = KNeighborsClassifier(n_neighbors=k, metric="cosine")
    clf.fit(features[train], labels[train])
    return float(clf.score(features[test], labels[test]))


def linear_accuracy(
    features: np.ndarray, labels: np.ndarray, train: np.ndarray, test: np.ndarray
) -> float:
    """Accuracy of a logistic-regression probe on standardised features.

    Parameters and return value as :func:`knn_accuracy`.
    """
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


def pixel_baselines(store: Store, n_components: int = 64) -> dict[str, np.ndarray]:
    """PCA-64 of flattened cutouts, per-pixel standardised and per-image asinh.

    The same features as the dashboard's baselines
    (:func:`explorer.analysis.features.pixel_pca`, streamed over the shards).

    Returns
    -------
    dict
        ``{"standardise": (N, 64), "asinh": (N, 64)}`` float arrays.
    """
    from explorer.analysis.features import pixel_pca

    return {
        kind: np.asarray(pixel_pca(store, n_components=n_components, kind=kind))
        for kind in ("standardise", "asinh")
    }


# ------------------------------------------------------------------- inputs
def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def demo_store(n: int, root: Path) -> Store:
    """The synthetic demo survey (seed 0, 64 px) of ``n`` sources at ``root``."""
    from explorer.ingest.synthetic import BANDS, iter_survey

    with Store.build(
        root, list(BANDS), 64, source=f"synthetic n={n} seed=0"
    ) as builder:
        for cube, catalog in iter_survey(n, size=64, seed=0, batch=1024):
            builder.append(cube, catalog)
    return builder.store


@dataclass
class Split:
    """The labels and row splits every measurement is scored on."""

    labels: np.ndarray  # (N,) str
    train: np.ndarray
    test: np.ndarray
    subset: np.ndarray  # rows of the per-epoch k-NN evaluation
    subset_train: np.ndarray  # positions within ``subset``
    subset_test: np.ndarray

    @classmethod
    def of(cls, store: Store, eval_n: int, seed: int) -> Split:
        """Splits of ``store``'s :data:`LABEL` column (``eval_n`` subset rows).

        Raises
        ------
        DataError
            If the store has no :data:`LABEL` column.
        """
        if LABEL not in store.catalog:
            msg = f"store {store.root} has no {LABEL!r} column to evaluate against"
            raise DataError(msg)
        labels = store.catalog[LABEL].astype(str).to_numpy()
        train, test = split_rows(labels, seed=seed)
        rng = np.random.default_rng(seed)
        size = min(eval_n, len(labels))
        subset = np.sort(rng.choice(len(labels), size, replace=False))
        sub_train, sub_test = split_rows(labels[subset], seed=seed)
        return cls(labels, train, test, subset, sub_train, sub_test)


def _subset_curve(
    store: Store, split: Split
) -> Callable[[int, Callable[[np.ndarray], np.ndarray]], dict[str, float]]:
    """The per-epoch hook: k-NN accuracy of the subset's ``h``."""
    cutouts = store.cutouts_at(split.subset)
    labels = split.labels[split.subset]

    def curve(epoch: int, encode: Callable[[np.ndarray], np.ndarray]) -> dict:
        h = np.concatenate(
            [
                encode(cutouts[i : i + EVAL_BATCH])
                for i in range(0, len(cutouts), EVAL_BATCH)
            ]
        )
        acc = knn_accuracy(h, labels, split.subset_train, split.subset_test)
        log.info("epoch %d: subset k-NN accuracy %.3f", epoch, acc)
        return {"subset_knn_accuracy": acc}

    return curve


# ---------------------------------------------------------------------- run
def _train_and_embed(
    store: Store,
    split: Split,
    work: Path,
    settings: dict[str, Any],
    device: str,
    workers: int,
) -> dict[str, Any]:
    """Train, embed every cutout and time both (through the job runner)."""
    from explorer.jobs import runner

    runner.load_torch_side()
    curve = _subset_curve(store, split)
    t0 = time.perf_counter()
    checkpoint = runner.train_encoder(
        store.root, work / "ckpt.pt", settings, device=device, on_epoch_end=curve
    )
    train_s = time.perf_counter() - t0
    summary = runner.training_summary(checkpoint)
    t0 = time.perf_counter()
    h = runner.encode_store(store.root, checkpoint, device=device, workers=workers)
    embed_s = time.perf_counter() - t0
    return {**summary, "h": h, "train_s": train_s, "embed_s": embed_s}


def _device_name(trained: dict[str, Any], threads: int) -> str:
    if str(trained["device"]).startswith("cuda"):
        return f"cuda ({trained['device_name']})"
    return f"cpu ({_cpu_model()}, {threads} threads)"


def _results(
    store: Store, split: Split, trained: dict[str, Any], baselines: dict
) -> dict[str, Any]:
    """The result record's fields that depend on the trained encoder."""
    ssl = evaluate(trained["h"], split.labels, split.train, split.test)
    best = max(baselines, key=lambda k: baselines[k]["knn_accuracy"])
    margin = ssl["knn_accuracy"] - baselines[best]["knn_accuracy"]
    history = trained["history"]
    log.info("SSL %s vs baselines %s (margin %.3f)", ssl, baselines, margin)
    classes = np.unique(split.labels, return_counts=True)
    return {
        "split": {
            "train": len(split.train),
            "test": len(split.test),
            "classes": {str(k): int(v) for k, v in zip(*classes, strict=True)},
        },
        "config": trained["config"],
        "epochs": trained["config"]["epochs"],
        "train_minutes": round(trained["train_s"] / 60, 2),
        "train_images_per_s": round(
            float(np.mean([e["images_per_s"] for e in history])), 1
        ),
        "embed_images_per_s": round(store.n_sources / trained["embed_s"], 1),
        "embed_seconds": round(trained["embed_s"], 1),
        "ssl": ssl,
        "baselines": baselines,
        "stronger_baseline": best,
        "knn_margin_over_stronger_baseline": round(margin, 4),
        "target_met": bool(margin >= TARGET_MARGIN),
        "curve": [
            {
                "epoch": e["epoch"],
                "loss": round(e["loss"], 4),
                "subset_knn_accuracy": round(e["subset_knn_accuracy"], 4),
                "seconds": round(e["seconds"], 1),
            }
            for e in history
        ],
    }


def run_benchmark(
    out: str | Path,
    *,
    n: int = 8000,
    store: str | Path | None = None,
    settings: dict[str, Any] | None = None,
    eval_n: int = 3000,
    device: str = "cpu",
    workers: int = 1,
) -> Path:
    """Run the benchmark and write ``ssl-<date>.json`` under ``out``.

    Parameters
    ----------
    out : path-like
        Result directory.
    n : int
        Sources of the demo survey built when ``store`` is not given.
    store : path-like, optional
        A store with a :data:`LABEL` column to use instead of the demo survey.
    settings : dict, optional
        Training-setting overrides of :data:`TRAINING_DEFAULTS` (TrainConfig
        fields); ``seed`` also seeds the splits, ``threads`` is reported.
    eval_n : int
        Sources in the per-epoch k-NN evaluation subset.
    device : str
        ``"auto"``, ``"cpu"`` or ``"cuda"``.
    workers : int
        Data-loading worker processes of training and embedding.

    Returns
    -------
    pathlib.Path
        The written result file.

    Raises
    ------
    DataError
        If the store has no :data:`LABEL` column or a setting is unknown.
    """
    from explorer.bench import write_result

    settings = {**TRAINING_DEFAULTS, **(settings or {})}
    settings.setdefault("num_workers", workers)
    work = Path(tempfile.mkdtemp(prefix="latentsky-bench-ssl-"))
    try:
        t0 = time.perf_counter()
        opened = Store.open(store) if store else demo_store(n, work / "store")
        build_s = time.perf_counter() - t0
        split = Split.of(opened, eval_n, settings["seed"])
        t0 = time.perf_counter()
        baselines = {
            kind: evaluate(f, split.labels, split.train, split.test)
            for kind, f in pixel_baselines(opened).items()
        }
        baseline_s = time.perf_counter() - t0
        log.info("pixel baselines: %s", baselines)
        trained = _train_and_embed(opened, split, work, settings, device, workers)
        device_name = _device_name(trained, settings["threads"])
        results = {
            "device": device_name,
            "threads": settings["threads"],
            "n_sources": opened.n_sources,
            "store": str(store or "synthetic demo survey (seed 0)"),
            **_results(opened, split, trained, baselines),
            "eval_subset": len(split.subset),
            "store_build_seconds": round(build_s, 1),
            "baseline_seconds": round(baseline_s, 1),
        }
        return write_result("ssl", results, out, device=device_name)
    finally:
        shutil.rmtree(work, ignore_errors=True)
