"""Write the synthetic demo survey (bands g, r, z) as a FITS cube plus catalogue.

Fourteen kinds (see ``explorer.ingest.synthetic``): common ellipticals,
discs and stars; high-z quasars, brown dwarfs and z ~ 1 red compact galaxies
with overlapping colours; rare rings, lens arcs, mergers and dust lanes; rare
artefacts (cosmic rays, satellite trails, bad columns, bleed trails). The
catalogue holds only measured quantities (fluxes, magnitudes, a size, the
seeing, flags); the kind of each source is in the hidden column _truth_label
(for evaluation only). ``--preset second`` observes with worse seeing and less
depth, by default at 48 px with seed 1. Ingest it with
`latentsky ingest OUT.fits STORE`.
"""

from __future__ import annotations

import argparse

from explorer.argtypes import int_at_least, non_negative_int, positive_int

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
        "--preset",
        choices=("demo", "second"),
        default="demo",
        help="observing settings: demo (good seeing, deep) or second (worse "
        "seeing, shallower, more neighbours) (default demo)",
    )
    parser.add_argument(
        "--size",
        # smaller cutouts leave too few pixels for the sources' profiles
        type=int_at_least(16),
        default=None,
        help="cutout side in pixels, at least 16 (default: the preset's, "
        "64 for demo, 48 for second)",
    )
    parser.add_argument(
        "--seed",
        type=non_negative_int,
        default=None,
        help="random seed (default: the preset's, 0 for demo, 1 for second)",
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

    from explorer.ingest.synthetic import preset, write_demo_survey

    settings = preset(args.preset)
    size = settings.default_size if args.size is None else args.size
    seed = settings.default_seed if args.seed is None else args.seed
    started = time.perf_counter()
    write_demo_survey(
        out,
        args.n,
        size=size,
        seed=seed,
        settings=settings,
        progress=not args.no_progress,
    )
    elapsed = time.perf_counter() - started
    size_mib = out.stat().st_size / 2**20
    print(
        f"wrote {args.n:,} sources ({args.preset} preset, {size} px, seed {seed}) "
        f"to {out} ({size_mib:,.1f} MiB) in {elapsed:.1f} s"
    )
    return 0
