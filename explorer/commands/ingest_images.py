"""Build a store from survey images with a WCS, cutting around catalogued or
detected sources.

Bands: --band NAME=FILE (repeat; names in the order given become the store's
bands), NAME=FILE[HDU] (an HDU by index or EXTNAME), NAME=@LIST (a text file
naming one image per line: a tile list; each source is cut from the tile
whose footprint contains it), or --mef FILE (one band per image HDU, named by
FILTER, BAND or EXTNAME). Every image needs a celestial WCS; the first band's
grid is the cutout grid and bands on other grids are resampled onto it with
reproject, section by section.

Sources: --catalog CAT (CSV, Parquet, FITS table or VOTable with RA/Dec in
degrees), or else detection with sep on the first band (or --detect-band):
background subtracted, --detect-sigma times the background RMS, at least
--min-area pixels, deblending on; the detection table (id, ra, dec, x, y, a,
b, theta, flux_radius, flux_iso, peak, npix, sep_flag, flux_<band>) becomes
the store's catalogue.

Added columns: edge (largest fraction of a band's cutout outside its image;
padded pixels are filled like NaNs), n_saturated (pixels at or above the
header SATURATE level), n_masked (NaN/blank pixels filled). Sources off an
image are skipped and reported, or refused with --strict.
"""

from __future__ import annotations

import argparse

from explorer.argtypes import int_at_least, positive_float, positive_int
from explorer.commands.options import add_store_writing_arguments

NAME = "ingest-images"
HELP = "build a store from survey images with a WCS (+ catalogue, or detection)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the flags of ``latentsky ingest-images``."""
    parser.add_argument("store", help="store directory to create")
    parser.add_argument(
        "--band",
        action="append",
        default=[],
        metavar="NAME=FILE",
        help="a band image: NAME=FILE, NAME=FILE[HDU] or NAME=@TILE_LIST (repeat)",
    )
    parser.add_argument("--mef", help="multi-extension FITS file, one band per HDU")
    parser.add_argument(
        "--catalog", help="source catalogue (CSV, Parquet, FITS, VOTable) with RA/Dec"
    )
    parser.add_argument(
        "--size",
        type=int_at_least(8),
        default=64,
        help="cutout side in pixels of the first band (default 64)",
    )
    parser.add_argument(
        "--strict",
        action="store_true",
        help="refuse a catalogue with sources off the images (default: skip them)",
    )
    parser.add_argument(
        "--resample",
        choices=("interp", "adaptive"),
        default="interp",
        help="reproject method for bands on another grid (default interp)",
    )
    group = parser.add_argument_group("detection (without --catalog)")
    group.add_argument("--detect-band", help="band to detect on (default the first)")
    group.add_argument(
        "--detect-sigma",
        type=positive_float,
        default=3.0,
        help="threshold per pixel in background RMS (default 3)",
    )
    group.add_argument(
        "--min-area",
        type=positive_int,
        default=5,
        help="minimum connected pixels above the threshold (default 5)",
    )
    group.add_argument(
        "--aperture",
        type=positive_float,
        default=4.0,
        help="aperture radius in pixels for the flux_<band> columns (default 4)",
    )
    add_store_writing_arguments(parser, step="cut/write")


def run(args: argparse.Namespace) -> int:
    """Ingest and print the sources, skipped sources and throughput."""
    from explorer.ingest.images import (
        CutoutSettings,
        DetectionSettings,
        ingest_images,
    )

    result = ingest_images(
        args.store,
        args.band,
        mef=args.mef,
        catalog=args.catalog,
        cutouts=CutoutSettings(args.size, args.resample, args.aperture),
        detection=DetectionSettings(args.detect_sigma, args.min_area),
        detect_band=args.detect_band,
        strict=args.strict,
        overwrite=args.overwrite,
        force=args.yes,
        chunk=args.chunk,
        progress=not args.no_progress,
    )
    store = result.store
    source = "detected" if result.detected else "catalogued"
    print(
        f"ingested {store.n_sources:,} {source} sources into {store.root} "
        f"({store.disk_bytes() / 2**20:,.1f} MiB) in {result.seconds:.1f} s "
        f"({store.n_sources / max(result.seconds, 1e-9):,.0f} sources/s)"
    )
    if result.n_off:
        print(f"skipped {result.n_off:,} sources off the images (ids {result.off_ids})")
    return 0
