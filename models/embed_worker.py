"""Embed cutouts from a ``.npy`` file in a separate process.

The dashboard never imports torch: to search by an uploaded FITS cutout it
runs ``python -m models.embed_worker CHECKPOINT IN.npy OUT.npy``, which writes
the ``(n, D)`` float32 representations to ``OUT.npy``. A user error (wrong
bands or size, unusable checkpoint) is printed as one line on stderr with exit
status 2.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import numpy as np

from explorer.errors import LatentskyError


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: ``CHECKPOINT IN.npy OUT.npy``."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 3:
        print(
            "usage: python -m models.embed_worker CHECKPOINT IN.npy OUT.npy",
            file=sys.stderr,
        )
        return 2
    checkpoint, source, target = args
    from models.embed import embed_arrays

    try:
        vectors = embed_arrays(checkpoint, np.load(source), device="cpu")
    except LatentskyError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    np.save(target, np.asarray(vectors, dtype=np.float32))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
