"""Run a benchmark and write its JSON record under ``--out``.

Suites: ``ssl`` (training/embedding throughput and representation quality,
needs torch), ``analysis`` (map, similarity search, anomaly scores, metrics),
``ui`` (real browser against a real server). ``all`` runs each in turn with
its default sizes.
"""

from __future__ import annotations

import argparse
import importlib

NAME = "bench"
HELP = "run benchmarks (ssl, analysis, ui, all) and write JSON results"

#: suite name -> module with ``add_arguments(parser)`` and ``run(args) -> Path``
SUITES = {
    "ssl": "models.bench",
    "analysis": "explorer.bench.analysis",
    "ui": "explorer.bench.ui",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="suite", metavar="SUITE", required=True)
    for suite, module_name in SUITES.items():
        p = sub.add_parser(suite, help=f"the {suite} benchmark")
        p.add_argument("--out", default="benchmarks/results", help="result directory")
        try:
            importlib.import_module(module_name).add_arguments(p)
        except ModuleNotFoundError:
            p.set_defaults(_missing=module_name)
    p = sub.add_parser("all", help="every suite with default sizes")
    p.add_argument("--out", default="benchmarks/results", help="result directory")


def run(args: argparse.Namespace) -> int:
    from explorer.errors import LatentskyError

    suites = list(SUITES) if args.suite == "all" else [args.suite]
    for suite in suites:
        module_name = SUITES[suite]
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            msg = f"benchmark suite {suite!r} is not available ({exc})"
            raise LatentskyError(msg) from exc
        if args.suite == "all":
            sub = argparse.ArgumentParser()
            sub.add_argument("--out", default=args.out)
            module.add_arguments(sub)
            suite_args = sub.parse_args(["--out", args.out])
        else:
            suite_args = args
        path = module.run(suite_args)
        print(f"{suite}: wrote {path}")
    return 0
