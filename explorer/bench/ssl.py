"""``latentsky bench ssl``: speed and representation quality of the SSL encoder.

In one run, on each survey (the synthetic ``demo`` preset, where settings are
chosen, and the ``second`` preset, drawn with other seeing, depth, cutout
size and seed, where they are reported; or a given ``--store``):

* ours with the default settings, with the previous CPU setting (ResNet
  width 16, one block per stage) and with the earlier CNN default (width 32,
  one block per stage): img/s, seconds per epoch, the speed ratios and
  accuracy differences measured side by side;
* the plain reference SimCLR (:mod:`models.reference`), the supervised
  reference (our network trained on the hidden labels) and pixel PCA-64 of
  asinh cutouts;
* after every epoch, k-NN accuracy (k = 10, cosine) 5-fold cross-validated
  with recall per kind, and on one held-out split (the one the supervised
  reference never saw): the accuracy-vs-minutes curve;
* on ``demo``, a small ``latentsky tune`` study: Spearman's rho between the
  label-free objective and hidden-label k-NN over its trials.

The load average is recorded before and after: the machine may be shared.
Training goes through :mod:`explorer.jobs.runner` (no torch in this module).
"""

from __future__ import annotations

import argparse
import logging
import platform
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from explorer.bench.ssl_data import LABEL, Survey, load_average, preset_store
from explorer.bench.ssl_eval import knn_accuracy, knn_cv, linear_accuracy, split_rows
from explorer.bench.ssl_runs import (
    PREVIOUS_CPU,
    SHALLOW_CPU,
    run_ours,
    run_pca,
    run_reference,
    run_supervised,
)
from explorer.errors import DataError
from explorer.store import Store

__all__ = [
    "LABEL",
    "TRAINING_DEFAULTS",
    "knn_accuracy",
    "linear_accuracy",
    "run_benchmark",
    "split_rows",
]

log = logging.getLogger(__name__)

#: the benchmark's training settings (the rest are TrainConfig's defaults)
TRAINING_DEFAULTS: dict[str, Any] = {
    "method": "simclr",
    "epochs": 10,
    "batch_size": 256,
    "crop": 32,
    "temperature": 0.2,
    "lr": 2e-3,
    "threads": 2,
    "seed": 0,
}
#: ``--quick``: small enough for a test (< 60 s on 2 cores)
QUICK = {"n": 300, "size": 32, "epochs": 1, "batch_size": 64, "trials": 3}
#: every contestant, in the order they run (``--contestants`` picks a subset);
#: pixel PCA first: it needs no training and fails fastest
CONTESTANTS = ("pca", "ours", "previous", "shallow", "reference", "supervised")
#: targets of issue 12
TARGETS = {"gap_to_supervised": 0.02, "margin_over_pca": 0.10, "speedup": 2.0}


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def tune_ranking(
    survey: Survey, settings: dict[str, Any], trials: int, epochs: int, device: str
) -> dict[str, Any]:
    """A small label-free study; Spearman rho of its objective vs hidden-label k-NN."""
    from explorer.bench.ssl_eval import spearman
    from explorer.tune.search import TuneSettings, tune

    def hidden_knn(encode) -> dict[str, float]:
        h = np.concatenate(
            [
                encode(survey.cutouts[i : i + 512])
                for i in range(0, len(survey.cutouts), 512)
            ]
        )
        return {"knn_accuracy": knn_cv(h, survey.labels)["knn_accuracy"]}

    n = len(survey.labels)
    study = TuneSettings(
        trials=trials,
        epochs=epochs,
        n_train=n,
        n_eval=min(512, n // 4),
        seed=settings["seed"],
        base={"threads": settings["threads"]},
        device=device,
    )
    results = tune(survey.store.root, study, extra=hidden_knn)
    objective = [r["objective"] for r in results]
    knn = [r["knn_accuracy"] for r in results]
    return {
        "trials": trials,
        "epochs_per_trial": epochs,
        "objective": "view_retrieval (label-free)",
        "spearman_rho": round(spearman(objective, knn), 3),
        "rows": [
            {
                "trial": r["trial"],
                "objective": round(r["objective"], 4),
                "knn_accuracy": round(r["knn_accuracy"], 4),
                "params": r["params"],
            }
            for r in results
        ],
    }


def measure(
    survey: Survey,
    settings: dict[str, Any],
    work: Path,
    device: str,
    contestants: tuple[str, ...] = CONTESTANTS,
) -> dict[str, Any]:
    """The chosen contestants on one survey, side by side, with the machine's load."""
    before = load_average()
    runs = {
        "pca": lambda: run_pca(survey),
        "ours": lambda: run_ours(survey, settings, work, device),
        "previous": lambda: run_ours(
            survey, {**settings, **PREVIOUS_CPU}, work, device
        ),
        "shallow": lambda: run_ours(survey, {**settings, **SHALLOW_CPU}, work, device),
        "reference": lambda: run_reference(survey, settings),
        "supervised": lambda: run_supervised(survey, settings),
    }
    got = {name: runs[name]() for name in CONTESTANTS if name in contestants}
    return {
        "workload": survey.workload(),
        "load_average_before": before,
        "load_average_after": load_average(),
        **{KEYS[name]: result for name, result in got.items()},
        "comparison": compare(got),
    }


#: the result key of each contestant
KEYS = {
    "ours": "ours",
    "previous": "previous_cpu_setting",
    "shallow": "shallow_cnn_setting",
    "reference": "reference_simclr",
    "supervised": "supervised",
    "pca": "pixel_pca_asinh",
}


def compare(got: dict[str, dict[str, Any]]) -> dict[str, float]:
    """The issue's comparisons among the contestants that ran."""
    ours = got["ours"]
    held = "heldout_knn_accuracy"
    out: dict[str, float] = {}
    # our other settings, trained in the same run: speed and accuracy against each
    for name in ("previous", "shallow"):
        if name in got:
            other = got[name]
            out[f"speedup_per_epoch_vs_{name}"] = round(
                other["seconds_per_epoch"] / ours["seconds_per_epoch"], 2
            )
            out[f"knn_vs_{name}"] = round(
                ours["knn_accuracy"] - other["knn_accuracy"], 4
            )
    if "shallow" in got:
        out["heldout_vs_shallow"] = round(ours[held] - got["shallow"][held], 4)
    if "reference" in got:
        out["knn_vs_reference"] = round(
            ours["knn_accuracy"] - got["reference"]["knn_accuracy"], 4
        )
    if "supervised" in got:
        out["heldout_gap_to_supervised"] = round(
            got["supervised"][held] - ours[held], 4
        )
    if "pca" in got:
        out["knn_margin_over_pca"] = round(
            ours["knn_accuracy"] - got["pca"]["knn_accuracy"], 4
        )
    return out


def run_benchmark(
    out: str | Path,
    *,
    quick: bool = False,
    n: int = 3000,
    store: str | Path | None = None,
    presets: tuple[str, ...] = ("demo", "second"),
    settings: dict[str, Any] | None = None,
    tune_trials: int = 8,
    device: str = "cpu",
    workers: int = 1,
    eval_n: int | None = None,
    contestants: tuple[str, ...] = CONTESTANTS,
    tag: str | None = None,
) -> Path:
    """Run the benchmark and write ``ssl-<date>.json`` under ``out``.

    Parameters
    ----------
    out : path-like
        Result directory.
    quick : bool
        The :data:`QUICK` workload (a few hundred 32-px sources, one epoch).
    n : int
        Sources per synthetic preset.
    store : path-like, optional
        Measure on this store (with a :data:`LABEL` column) instead of the presets.
    presets : tuple of str
        Synthetic presets to measure on.
    settings : dict, optional
        Overrides of :data:`TRAINING_DEFAULTS` (TrainConfig fields).
    tune_trials : int
        Trials of the label-free study on the first survey (0 = none).
    device : str
        ``"cpu"``, ``"cuda"`` or ``"auto"`` for our encoder (references: CPU).
    workers : int
        Data-loading processes when the cutouts do not fit in memory.
    eval_n : int, optional
        Accepted for compatibility; every source is evaluated now.
    contestants : tuple of str
        Which of :data:`CONTESTANTS` run (``"ours"`` always does).
    tag : str, optional
        Written as ``ssl-<tag>-<date>.json``, so that a focused run (say, the
        10 000-source budget run) does not replace the full comparison.

    Returns
    -------
    pathlib.Path
        The written result file.

    Raises
    ------
    DataError
        If the store has no :data:`LABEL` column, a setting is unknown or a
        contestant is not one of :data:`CONTESTANTS`.
    """
    from explorer.bench import write_result

    unknown = sorted(set(contestants) - set(CONTESTANTS))
    if unknown:
        raise DataError(
            f"unknown contestant {unknown[0]!r}: expected some of "
            + ", ".join(CONTESTANTS)
        )
    contestants = ("ours", *contestants)
    from explorer.jobs import runner

    settings = {**TRAINING_DEFAULTS, **(settings or {}), "num_workers": workers}
    size = None
    if quick:
        n, size, tune_trials = QUICK["n"], QUICK["size"], QUICK["trials"]
        settings.update(epochs=QUICK["epochs"], batch_size=QUICK["batch_size"])
    work = Path(tempfile.mkdtemp(prefix="latentsky-bench-ssl-"))
    try:
        runner.load_torch_side()
        t0 = time.perf_counter()
        surveys: dict[str, Any] = {}
        names = ["store"] if store else list(presets)
        for name in names:
            opened = (
                Store.open(store) if store else preset_store(name, n, work / name, size)
            )
            survey = Survey.of(name, opened, settings["seed"])
            log.info(
                "bench ssl: measuring on %s (%d sources)", name, len(survey.labels)
            )
            surveys[name] = measure(survey, settings, work, device, contestants)
            if tune_trials and name == names[0]:
                epochs = 1 if quick else 2
                surveys[name]["tune"] = tune_ranking(
                    survey, settings, tune_trials, epochs, device
                )
        results = {
            "machine": f"cpu ({_cpu_model()}), {settings['threads']} torch threads",
            "shared_machine": "see each survey's load averages",
            "quick": quick,
            "contestants": [c for c in CONTESTANTS if c in contestants],
            "settings": settings,
            "targets": TARGETS,
            "surveys": surveys,
            "seconds": round(time.perf_counter() - t0, 1),
        }
        device_name = next(iter(surveys.values()))["ours"]["device"]
        name = f"ssl-{tag}" if tag else "ssl"
        return write_result(name, results, out, device=device_name)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def add_quick_argument(parser: argparse.ArgumentParser) -> None:
    """``--quick`` and ``--trials`` of the ssl suite."""
    parser.add_argument(
        "--quick", action="store_true", help="a tiny workload (seconds; for tests)"
    )
    parser.add_argument(
        "--trials", type=int, default=8, help="trials of the label-free tuning study"
    )
