"""The ``latentsky`` command line.

Sub-commands live in small modules of :mod:`explorer.commands`, one per
command. Each module defines ``NAME``, ``HELP``, ``add_arguments(parser)`` and
``run(args) -> int``, and must import nothing heavy (umap, torch, panel) at
module level, so that ``latentsky --help`` stays fast; the commands that need
torch reach it through :mod:`explorer.jobs.runner`. Shared option groups are in
:mod:`explorer.commands.options`.

User errors (:class:`explorer.errors.LatentskyError`) are printed as one line
``latentsky <cmd>: error: ...`` and exit with status 2, without a traceback;
so are bad option values, which argparse rejects before a command runs.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import pkgutil
import sys
from collections.abc import Sequence
from types import ModuleType

from explorer.errors import LatentskyError

COMMAND_PACKAGES = ("explorer.commands",)


def _command_modules() -> list[ModuleType]:
    """The command modules (those defining ``NAME`` and ``run``), sorted by name."""
    modules = []
    for package_name in COMMAND_PACKAGES:
        package = importlib.import_module(package_name)
        for info in pkgutil.iter_modules(package.__path__):
            if info.name.startswith("_"):
                continue
            module = importlib.import_module(f"{package_name}.{info.name}")
            if hasattr(module, "NAME") and hasattr(module, "run"):
                modules.append(module)
    return sorted(modules, key=lambda m: m.NAME)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every sub-command registered."""
    parser = argparse.ArgumentParser(
        prog="latentsky",
        description="Explore the self-supervised latent space of a sky survey.",
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="log debug messages"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in _command_modules():
        doc = (module.__doc__ or module.HELP).strip()
        cmd = sub.add_parser(
            module.NAME,
            help=module.HELP,
            description=doc,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        module.add_arguments(cmd)
        cmd.set_defaults(_run=module.run, _parser=cmd)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``latentsky`` console script.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments without the program name (default ``sys.argv[1:]``).

    Returns
    -------
    int
        Exit status: 0 on success, 2 for a user error or a bad option value
        (after its one-line message on stderr), 130 when interrupted.

    Raises
    ------
    SystemExit
        With status 0 after ``--help``.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        # argparse has printed usage and the error line; a bad value is a user
        # error like any other, returned (not raised) as status 2
        if exc.code in (0, None):
            raise
        return exc.code if isinstance(exc.code, int) else 2
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(args._run(args) or 0)
    except LatentskyError as exc:
        print(f"latentsky {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"latentsky {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
