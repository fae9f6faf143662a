"""Write the synthetic demo survey (bands g, r, z) as a FITS cube plus catalogue.

Kinds: elliptical, disc (bulge + disc, some with spiral arms), star,
red_quasar (very red point sources), merger (two galaxies with tidal tails)
and the rare ring, lens_arc and satellite_trail. Pixels are nanomaggies with
seeing and sky noise. The kind of each source is in the hidden catalogue
column _truth_label (for evaluation only). Ingest it with
`latentsky ingest OUT.fits STORE`.
"""

from __future__ import annotations

import argparse

from explorer.commands.options import int_at_least, non_negative_int, positive_int

NAME = "demo-data"
HELP = "write a synthetic multi-band survey (FITS cube + catalogue)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the flags of ``latentsky demo-data``."""
    parser.add_argument("out", help="output FITS file, e.g. demo.fits")
    parser.add_argument(
        "--n",
        type=positive_int,
        default=20000,
        help="number of sources (default 20000)",
    )
    parser.add_argument(
        "--size",
        # smaller cutouts leave too few pixels for the sources' profiles
        type=int_at_least(16),
        default=64,
        help="cutout side in pixels, at least 16 (default 64)",
    )
    parser.add_argument(
        "--seed", type=non_negative_int, default=0, help="random seed (default 0)"
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="replace OUT if it already exists"
    )
    parser.add_argument(
        "--no-progress", action="store_true", help="hide the progress bar"
    )


def run(args: argparse.Namespace) -> int:
    """Write the survey and print its size and the time it took."""
    import time
    from pathlib import Path

    from explorer.errors import LatentskyError

    out = Path(args.out)
    if out.exists() and not args.overwrite:
        msg = f"{out} already exists (pass --overwrite to replace it)"
        raise LatentskyError(msg)
    if out.is_dir():
        msg = f"{out} is a directory, expected a FITS file name"
        raise LatentskyError(msg)

    from explorer.ingest.synthetic import write_demo_survey

    started = time.perf_counter()
    write_demo_survey(
        out, args.n, size=args.size, seed=args.seed, progress=not args.no_progress
    )
    elapsed = time.perf_counter() - started
    size_mib = out.stat().st_size / 2**20
    print(f"wrote {args.n:,} sources to {out} ({size_mib:,.1f} MiB) in {elapsed:.1f} s")
    return 0
