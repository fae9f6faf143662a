"""Search training settings with Optuna, scored without labels.

Each trial is a short training run (``--epochs``) on a seeded subset of the
store (``--n-train``), scored by how often a source's rotated/mirrored/shifted
cutout finds the source itself as its nearest neighbour among ``--n-eval``
held-out sources (no labels). Prints a table of the trials and writes the best
settings as JSON, which ``latentsky train --config`` reads.

Example::

    latentsky tune demo_store --trials 12 --out best.json
    latentsky train demo_store --config best.json --epochs 20 --out ckpt.pt
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from explorer.argtypes import int_at_least, non_negative_int, positive_int
from explorer.commands.options import add_device_option
from explorer.errors import LatentskyError

NAME = "tune"
HELP = "search training settings (Optuna) with a label-free objective"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the flags of ``latentsky tune``."""
    parser.add_argument("store", help="store directory")
    parser.add_argument("--out", required=True, help="JSON file for the best settings")
    parser.add_argument("--trials", type=positive_int, default=10, help="trials")
    parser.add_argument(
        "--epochs", type=positive_int, default=2, help="epochs per trial (default 2)"
    )
    parser.add_argument(
        "--n-train",
        type=int_at_least(2),
        default=2000,
        help="sources each trial trains on (default 2000)",
    )
    parser.add_argument(
        "--n-eval",
        type=int_at_least(2),
        default=512,
        help="held-out sources of the label-free score (default 512)",
    )
    parser.add_argument("--seed", type=non_negative_int, default=0, help="seed")
    parser.add_argument(
        "--threads",
        type=non_negative_int,
        default=0,
        help="torch CPU threads, 0 = the cores (default 0)",
    )
    add_device_option(parser, default="auto")


def _check_out(path: Path) -> None:
    if path.suffix.lower() != ".json":
        msg = f"--out {path}: expected a .json file name"
        raise LatentskyError(msg)
    if not path.parent.is_dir():
        msg = f"--out {path}: folder {path.parent} does not exist"
        raise LatentskyError(msg)


def run(args: argparse.Namespace) -> int:
    """Run the study, print its table, write the best settings."""
    from explorer.store import Store, atomic
    from explorer.tune.search import TuneSettings, best, best_record, table, tune

    out = Path(args.out)
    _check_out(out)
    Store.open(args.store)  # a missing or broken store is one line, before torch
    settings = TuneSettings(
        trials=args.trials,
        epochs=args.epochs,
        n_train=args.n_train,
        n_eval=args.n_eval,
        seed=args.seed,
        base={"threads": args.threads} if args.threads else {},
        device=args.device,
    )
    results = tune(args.store, settings)
    print(table(results))
    top = best(results)
    atomic.write_json(out, best_record(top, results, settings))
    print(f"best trial {top['trial']} (objective {top['objective']:.4f}): wrote {out}")
    return 0


def read_config(path: str | Path) -> dict:
    """Training settings from ``--config FILE`` (``tune``'s output or a flat dict).

    Raises
    ------
    LatentskyError
        If the file is missing, not JSON, or not an object of settings.
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise LatentskyError(f"--config {path}: no such file") from None
    except (OSError, ValueError) as exc:
        msg = f"--config {path}: not a JSON file ({type(exc).__name__}: {exc})"
        raise LatentskyError(msg) from None
    settings = data.get("settings", data) if isinstance(data, dict) else None
    if not isinstance(settings, dict):
        msg = f"--config {path}: expected a JSON object of training settings"
        raise LatentskyError(msg)
    return settings
