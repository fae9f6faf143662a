"""The Optuna study of ``latentsky tune``: short training runs, a label-free score.

Each trial draws settings from :data:`SPACE` (TPE sampler, seeded), trains
for a few epochs on a seeded subset of the store through
:func:`explorer.jobs.runner.train_encoder`, and is scored by
:func:`explorer.tune.objective.view_retrieval` on a fixed sample that the
trial does not train on. No label is read.
"""

from __future__ import annotations

import logging
import math
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from explorer.store import Store
from explorer.tune.objective import view_retrieval

log = logging.getLogger(__name__)

#: setting -> ("log" | "float" | "choice", low, high) or ("choice", options)
SPACE: dict[str, tuple] = {
    "lr": ("log", 5e-4, 8e-3),
    "temperature": ("float", 0.1, 0.5),
    "crop_min": ("float", 0.25, 0.6),
    "crop_max": ("float", 0.6, 1.0),
    "shear": ("float", 0.0, 0.3),
    "noise": ("float", 0.0, 2.0),
    "gain": ("float", 0.0, 0.3),
    "batch_size": ("choice", [128, 256]),
}

#: hook of a trial's last epoch: ``extra(encode) -> dict`` (e.g. bench metrics)
Extra = Callable[[Callable[[np.ndarray], np.ndarray]], dict[str, Any]]


@dataclass
class TuneSettings:
    """What every trial shares.

    Attributes
    ----------
    trials : int
        Trials of the study.
    epochs : int
        Epochs of each trial's training run.
    n_train : int
        Sources each trial trains on (a seeded subset; all if fewer).
    n_eval : int
        Sources of the objective's fixed sample (disjoint from training).
    seed : int
        Seed of the sampler, the subsets and every trial's training.
    base : dict
        Training settings every trial starts from (``threads`` etc.).
    device : str
        ``"cpu"``, ``"cuda"`` or ``"auto"``.
    """

    trials: int = 10
    epochs: int = 2
    n_train: int = 2000
    n_eval: int = 512
    seed: int = 0
    base: dict[str, Any] = field(default_factory=dict)
    device: str = "cpu"


def suggest(trial: Any) -> dict[str, Any]:
    """One trial's settings drawn from :data:`SPACE` (crop_max >= crop_min)."""
    params: dict[str, Any] = {}
    for name, (kind, *spec) in SPACE.items():
        if kind == "choice":
            params[name] = trial.suggest_categorical(name, spec[0])
        else:
            params[name] = trial.suggest_float(name, *spec, log=kind == "log")
    params["crop_max"] = max(params["crop_max"], params["crop_min"])
    return params


def subsets(n: int, settings: TuneSettings) -> tuple[np.ndarray, np.ndarray]:
    """Seeded, disjoint ``(train rows, eval rows)`` of a store of ``n`` sources."""
    rng = np.random.default_rng(settings.seed)
    order = rng.permutation(n)
    n_eval = min(settings.n_eval, n // 4)
    evaluation = np.sort(order[:n_eval])
    train = np.sort(order[n_eval : n_eval + settings.n_train])
    return train, evaluation


def run_trial(
    store: Store,
    params: dict[str, Any],
    settings: TuneSettings,
    rows: tuple[np.ndarray, np.ndarray],
    work: Path,
    extra: Extra | None = None,
) -> dict[str, Any]:
    """Train with ``params`` and score the result (label-free).

    Returns
    -------
    dict
        ``{"params", "objective", "seconds", ...extra's fields}``.
    """
    from explorer.jobs import runner

    train_rows, eval_rows = rows
    sample = store.cutouts_at(eval_rows)
    scores: dict[str, Any] = {}

    def last_epoch(epoch: int, encode: Callable) -> None:
        if epoch == settings.epochs:
            scores["objective"] = view_retrieval(sample, encode)
            if extra is not None:
                scores.update(extra(encode))

    full = {**settings.base, **params, "epochs": settings.epochs}
    full["seed"] = settings.seed
    t0 = time.perf_counter()
    runner.train_encoder(
        store.root,
        work / "trial.pt",
        full,
        device=settings.device,
        progress=False,
        slim=True,
        on_epoch_end=last_epoch,
        rows=train_rows,
    )
    return {"params": params, **scores, "seconds": time.perf_counter() - t0}


def tune(
    store_root: str | Path, settings: TuneSettings, extra: Extra | None = None
) -> list[dict[str, Any]]:
    """Run the study; one dict per trial (see :func:`run_trial`), in trial order.

    Raises
    ------
    DataError
        If a base setting is unknown (from the training gateway).
    """
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    store = Store.open(store_root)
    rows = subsets(store.n_sources, settings)
    sampler = optuna.samplers.TPESampler(
        seed=settings.seed, n_startup_trials=min(5, settings.trials)
    )
    study = optuna.create_study(direction="maximize", sampler=sampler)
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="latentsky-tune-") as tmp:
        for number in range(settings.trials):
            trial = study.ask()
            result = run_trial(store, suggest(trial), settings, rows, Path(tmp), extra)
            value = result.get("objective", math.nan)
            study.tell(trial, value if math.isfinite(value) else 0.0)
            result["trial"] = number
            results.append(result)
            log.info("trial %d: objective %.4f %s", number, value, result["params"])
    return results


def best(results: list[dict[str, Any]]) -> dict[str, Any]:
    """The trial with the highest finite objective."""
    finite = [r for r in results if math.isfinite(r.get("objective", math.nan))]
    return max(finite or results, key=lambda r: r.get("objective", -math.inf))


def table(results: list[dict[str, Any]]) -> str:
    """A plain-text table of the trials (one row each, best marked ``*``)."""
    top = best(results)["trial"] if results else None
    names = list(SPACE)
    head = f"{'trial':>5} {'objective':>9} {'s':>6}  " + " ".join(
        f"{n:>11}" for n in names
    )
    lines = [head]
    for r in results:
        cells = " ".join(f"{r['params'][n]:>11.4g}" for n in names)
        mark = "*" if r["trial"] == top else " "
        lines.append(
            f"{r['trial']:>4}{mark} {r.get('objective', math.nan):>9.4f} "
            f"{r['seconds']:>6.1f}  {cells}"
        )
    return "\n".join(lines)


def best_record(
    top: dict[str, Any], results: list[dict[str, Any]], settings: TuneSettings
) -> dict[str, Any]:
    """The JSON ``latentsky tune --out`` writes: ``settings`` is what train reads."""
    return {
        "settings": {**settings.base, **top["params"], "seed": settings.seed},
        "objective": top.get("objective"),
        "objective_name": "view_retrieval (label-free)",
        "trial": top["trial"],
        "study": {
            "trials": settings.trials,
            "epochs_per_trial": settings.epochs,
            "n_train": settings.n_train,
            "n_eval": settings.n_eval,
            "seed": settings.seed,
            "sampler": "optuna TPE",
        },
        "trials": results,
    }
