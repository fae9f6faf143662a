"""One stage of ``latentsky bench scale``: a real command in a child process.

Run as ``python -m explorer.bench.scale_stage MARKS -- COMMAND ARGS...``: it
runs ``latentsky COMMAND ARGS...`` in this process (:func:`explorer.cli.main`,
the console script's own entry point) and, for ``analyse``, appends a line
``<unix time> <step>`` to the file ``MARKS`` when the analysis pipeline starts
and each time it finishes a step (its progress laps), so that the parent can
split the memory it samples by step.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from pathlib import Path

#: commands whose pipeline steps are marked
MARKED_COMMANDS = ("analyse",)


def mark(path: Path, name: str) -> None:
    """Append ``<unix time> <name>`` to the marks file ``path``."""
    with open(path, "a") as fh:
        fh.write(f"{time.time():.6f} {name}\n")


def install_marks(path: Path) -> None:
    """Mark the analysis pipeline's start and every finished step in ``path``.

    The laps are the pipeline's own step timer, so the marks cut exactly where
    ``analysis.json``'s ``timings_s`` do; wrapping them changes nothing else.
    """
    from explorer.analysis.pipeline_steps import Laps

    original_init, original_lap = Laps.__init__, Laps.lap

    def init(self, progress: bool) -> None:
        mark(path, "start")
        original_init(self, progress)

    def lap(self, name: str) -> None:
        original_lap(self, name)
        mark(path, name)

    Laps.__init__ = init
    Laps.lap = lap


def main(argv: Sequence[str]) -> int:
    """Run one ``latentsky`` command; ``argv`` is ``MARKS -- COMMAND ARGS...``.

    Returns
    -------
    int
        The command's exit status (2 for a malformed ``argv``).
    """
    if len(argv) < 3 or argv[1] != "--":
        sys.stderr.write(
            "usage: python -m explorer.bench.scale_stage MARKS -- COMMAND ARGS...\n"
        )
        return 2
    marks, command = Path(argv[0]), list(argv[2:])
    if command[0] in MARKED_COMMANDS:
        install_marks(marks)
    from explorer.cli import main as latentsky

    return latentsky(command)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
