"""Run a benchmark and write its JSON record under ``--out``.

Suites: ``ssl`` (training/embedding throughput and representation quality),
``analysis`` (map, similarity search, anomaly scores, metrics), ``ui`` (real
browser against a real server), ``load`` (1/5/20 concurrent browser
sessions hovering, selecting, saving), ``soak`` (50 sessions opened and
closed, then the idle server), ``scale`` (real stores of 10 k to 1 M sources
built, embedded, analysed and served, stage by stage; not part of ``all``).
``all`` runs each in turn with its default sizes.
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable
from pathlib import Path

from explorer.argtypes import positive_int
from explorer.commands.options import (
    add_device_option,
    add_training_options,
    add_workers_option,
    training_settings,
)

NAME = "bench"
HELP = (
    "run benchmarks (ssl, analysis, ui, load, soak, ingest-images, active, "
    "scale, all) "
    "and write JSON results"
)

#: the training flags of the ssl suite (the rest keep TrainConfig's defaults)
SSL_TRAINING_FLAGS = (
    "method",
    "epochs",
    "batch-size",
    "arch",
    "width",
    "layers",
    "crop",
    "temperature",
    "lr",
    "threads",
    "seed",
)


def add_ssl_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags of the ssl suite (``--out`` is added by :func:`add_arguments`)."""
    from explorer.bench.ssl import TRAINING_DEFAULTS, add_quick_argument

    parser.add_argument(
        "--n", type=positive_int, default=3000, help="sources per survey preset"
    )
    add_quick_argument(parser)
    parser.add_argument(
        "--store",
        default=None,
        help="use this store (needs a _truth_label column) instead of "
        "generating the demo survey",
    )
    add_training_options(parser, only=SSL_TRAINING_FLAGS, defaults=TRAINING_DEFAULTS)
    parser.add_argument(
        "--eval-n",
        type=positive_int,
        default=3000,
        help="sources in the per-epoch k-NN evaluation subset",
    )
    parser.add_argument(
        "--contestants",
        type=_contestants,
        default=None,
        metavar="A,B",
        help="run only these besides ours: pca, previous, shallow, reference, "
        "supervised (default all)",
    )
    parser.add_argument(
        "--tag",
        default=None,
        help="write ssl-TAG-<date>.json (a focused run beside the full one)",
    )
    add_device_option(parser, default="cpu")
    add_workers_option(parser, default=1)


def _contestants(text: str) -> tuple[str, ...]:
    from explorer.bench.ssl import CONTESTANTS

    names = tuple(name.strip() for name in text.split(",") if name.strip())
    unknown = [name for name in names if name not in CONTESTANTS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"{text!r}: expected names from {', '.join(CONTESTANTS)}"
        )
    return names


def run_ssl(args: argparse.Namespace) -> Path:
    """Run the ssl suite with the parsed flags."""
    from explorer.bench.ssl import run_benchmark

    return run_benchmark(
        args.out,
        n=args.n,
        store=args.store,
        settings=training_settings(args),
        eval_n=args.eval_n,
        device=args.device,
        workers=args.workers,
        quick=args.quick,
        tune_trials=args.trials,
        **({"contestants": args.contestants} if args.contestants else {}),
        tag=args.tag,
    )


def _module_suite(
    module_name: str,
) -> tuple[Callable[[argparse.ArgumentParser], None], Callable]:
    """``(add_arguments, run)`` of a suite module, imported when first used."""

    def add(parser: argparse.ArgumentParser) -> None:
        importlib.import_module(module_name).add_arguments(parser)

    def run(args: argparse.Namespace) -> Path:
        return importlib.import_module(module_name).run(args)

    return add, run


#: suite name -> (add_arguments(parser), run(args) -> result path)
SUITES: dict[str, tuple[Callable[[argparse.ArgumentParser], None], Callable]] = {
    "ssl": (add_ssl_arguments, run_ssl),
    "analysis": _module_suite("explorer.bench.analysis"),
    "ui": _module_suite("explorer.bench.ui"),
    "load": _module_suite("explorer.bench.load"),
    "soak": _module_suite("explorer.bench.soak"),
    "ingest-images": _module_suite("explorer.bench.ingest_images"),
    "active": _module_suite("explorer.bench.active"),
    "throughput": _module_suite("explorer.bench.throughput"),
    "scale": _module_suite("explorer.bench.scale"),
}

#: suites that serve a given analysed store (``--store``): not part of ``all``
NEED_A_STORE = ("load", "soak")
#: suites left out of ``all``: those, and scale (hours at its default 1 M)
NOT_IN_ALL = (*NEED_A_STORE, "scale")


def _add_out(parser: argparse.ArgumentParser, default: str) -> None:
    parser.add_argument("--out", default=default, help="result directory")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register one sub-command per suite, plus ``all``."""
    sub = parser.add_subparsers(dest="suite", metavar="SUITE", required=True)
    for suite, (add_suite_arguments, _) in SUITES.items():
        p = sub.add_parser(suite, help=f"the {suite} benchmark")
        _add_out(p, "benchmarks/results")
        add_suite_arguments(p)
    p = sub.add_parser("all", help="every suite with default sizes")
    _add_out(p, "benchmarks/results")


def run(args: argparse.Namespace) -> int:
    """Run the chosen suite (or each in turn) and print where results went."""
    every = [suite for suite in SUITES if suite not in NOT_IN_ALL]
    suites = every if args.suite == "all" else [args.suite]
    for suite in suites:
        add_suite_arguments, run_suite = SUITES[suite]
        if args.suite == "all":
            # each suite with its own defaults, only --out shared
            parser = argparse.ArgumentParser()
            _add_out(parser, args.out)
            add_suite_arguments(parser)
            suite_args = parser.parse_args(["--out", args.out])
        else:
            suite_args = args
        path = run_suite(suite_args)
        print(f"{suite}: wrote {path}")
    return 0
