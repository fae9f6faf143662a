"""The contestants of ``bench ssl``, each scored after every epoch the same way.

Ours (:func:`run_ours`, the default settings, the previous CPU setting
``--arch resnet --width 16 --layers 1,1,1,1`` and the earlier CNN default
``--arch cnn --width 32 --layers 1,1,1,1``), the plain reference SimCLR
(:func:`run_reference`), the supervised upper reference (:func:`run_supervised`)
and pixel PCA-64 of asinh cutouts (:func:`run_pca`). Training goes through
:mod:`explorer.jobs.runner`; no torch here.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from explorer.bench.ssl_data import Survey
from explorer.bench.ssl_eval import knn_accuracy, knn_cv, linear_accuracy

EMBED_BATCH = 512
#: the CPU setting of the README before issue 12 (what the speed ratio compares to)
PREVIOUS_CPU = {"arch": "resnet", "width": 16, "layers": [1, 1, 1, 1], "preload": False}
#: the CPU default of 2026-12-01: the plain CNN one block per stage, 32 -> 256
#: channels (today's is narrower and deeper; this says what that bought)
SHALLOW_CPU = {"arch": "cnn", "width": 32, "layers": [1, 1, 1, 1]}


def _embed(survey: Survey, encode: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    x = survey.cutouts
    return np.concatenate(
        [encode(x[i : i + EMBED_BATCH]) for i in range(0, len(x), EMBED_BATCH)]
    )


def scores(survey: Survey, h: np.ndarray, cv: bool = True) -> dict[str, Any]:
    """Held-out k-NN (and 5-fold CV k-NN + per-kind recall unless ``cv=False``)."""
    out: dict[str, Any] = {
        "heldout_knn_accuracy": round(
            knn_accuracy(h, survey.labels, survey.train, survey.test), 4
        )
    }
    if cv:
        result = knn_cv(h, survey.labels)
        out["knn_accuracy"] = round(result["knn_accuracy"], 4)
        out["recall"] = {k: round(v, 4) for k, v in result["recall"].items()}
    return out


def _hook(survey: Survey, cv: bool) -> Callable:
    def on_epoch_end(epoch: int, encode: Callable) -> dict[str, Any]:
        return scores(survey, _embed(survey, encode), cv)

    return on_epoch_end


def summarise(history: list[dict[str, Any]], sources: int) -> dict[str, Any]:
    """Curve (accuracy vs training minutes, per epoch) and the last epoch's scores."""
    minutes = np.cumsum([e["seconds"] for e in history]) / 60
    keys = ("knn_accuracy", "heldout_knn_accuracy")
    curve = [
        {"epoch": e["epoch"], "minutes": round(float(m), 3)}
        | {k: e[k] for k in keys if k in e}
        for e, m in zip(history, minutes, strict=True)
    ]
    rates = [e["images_per_s"] for e in history[1:] or history]
    last = history[-1]
    return {
        **{k: last[k] for k in (*keys, "recall") if k in last},
        "train_minutes": round(float(minutes[-1]), 3),
        "seconds_per_epoch": round(
            float(np.median([e["seconds"] for e in history])), 2
        ),
        # the first epoch includes one-off work (allocation, warm-up): left out
        "images_per_s": round(float(np.median(rates)), 1),
        "training_sources": sources,
        "curve": curve,
    }


def run_ours(
    survey: Survey, settings: dict[str, Any], work: Path, device: str = "cpu"
) -> dict[str, Any]:
    """Train our encoder with ``settings`` (TrainConfig overrides), score per epoch."""
    from explorer.jobs import runner

    checkpoint = runner.train_encoder(
        survey.store.root,
        work / "ours.pt",
        settings,
        device=device,
        progress=False,
        slim=True,
        on_epoch_end=_hook(survey, cv=True),
    )
    trained = runner.training_summary(checkpoint)
    result = summarise(trained["history"], len(survey.labels))
    config = trained["config"]
    result["config"] = {
        k: config[k]
        for k in ("arch", "width", "layers", "batch_size", "crop", "lr", "epochs")
    }
    result["device"] = trained["device"]
    return result


def run_reference(survey: Survey, settings: dict[str, Any]) -> dict[str, Any]:
    """The plain reference SimCLR (its own recipe; epochs/batch/crop/seed shared)."""
    from explorer.jobs import runner

    history = runner.train_reference(
        survey.cutouts, settings, on_epoch_end=_hook(survey, cv=True)
    )
    return summarise(history, len(survey.labels))


def run_supervised(survey: Survey, settings: dict[str, Any]) -> dict[str, Any]:
    """Our encoder trained on the hidden labels of the training split only."""
    from explorer.jobs import runner

    kinds, codes = np.unique(survey.labels, return_inverse=True)
    history = runner.train_supervised(
        survey.cutouts[survey.train],
        codes[survey.train],
        settings,
        list(survey.store.bands),
        on_epoch_end=_hook(survey, cv=False),
    )
    result = summarise(history, len(survey.train))
    result["note"] = (
        "trained on the labels of the training split; scored on the held-out rows "
        f"only ({len(survey.test)} sources, {len(kinds)} kinds)"
    )
    return result


def run_pca(survey: Survey) -> dict[str, Any]:
    """Pixel PCA-64 of asinh-stretched cutouts (the lower reference)."""
    from explorer.analysis.features import pixel_pca

    t0 = time.perf_counter()
    h = np.asarray(pixel_pca(survey.store, 64, "asinh", progress=False))
    seconds = time.perf_counter() - t0
    out = scores(survey, h)
    out["linear_accuracy"] = round(
        linear_accuracy(h, survey.labels, survey.train, survey.test), 4
    )
    return {**out, "seconds": round(seconds, 2)}
