"""Write the Hubble Deep Field (skimage.data.hubble_deep_field(), a real HST
image, 872 x 1000 px RGB) as three FITS band images hdf_red/green/blue.fits
in OUTDIR, with a MADE-UP TAN WCS (HDF-N centre RA 189.2058, Dec 62.2161,
0.04 arcsec/px, north up): positions are illustrative, not real astrometry.
Then: latentsky ingest-images STORE --band red=OUTDIR/hdf_red.fits
--band green=OUTDIR/hdf_green.fits --band blue=OUTDIR/hdf_blue.fits --size 32
"""

from __future__ import annotations

import argparse

NAME = "demo-hdf"
HELP = "write the Hubble Deep Field as three FITS band images with a made-up WCS"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the flags of ``latentsky demo-hdf``."""
    parser.add_argument("outdir", help="folder for hdf_red/green/blue.fits")
    parser.add_argument(
        "--overwrite", action="store_true", help="replace existing files"
    )


def run(args: argparse.Namespace) -> int:
    """Write the files and print the ingest command line."""
    from explorer.ingest.images.hdf import write_hdf_bands

    paths = write_hdf_bands(args.outdir, overwrite=args.overwrite)
    for band, path in paths.items():
        print(f"wrote {band}: {path}")
    bands = " ".join(f"--band {b}={p}" for b, p in paths.items())
    print(f"next: latentsky ingest-images STORE {bands} --size 32")
    return 0
