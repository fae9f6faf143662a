"""Build a store from survey files.

SRC is one of: a FITS cube file (primary HDU (N, bands, S, S), table HDU with
id/ra/dec), a directory of per-source FITS cutouts plus a catalogue
(--catalog, or catalog.csv/.fits/.parquet inside it), or an HDF5 file in the
Galaxy10-DECaLS layout (images (N, S, S, 3) uint8, ra, dec, optional ans).
NaN/inf pixels are replaced by the median of the finite pixels of the same
band of the same cutout; the count per source is catalogue column n_masked.
The store is written to a temporary directory and published only on success;
--overwrite swaps it with the existing store in one step, and asks for --yes
when that would drop embedding versions or annotations. With --dask local:N
or --scheduler ADDRESS each Zarr shard of cutouts is read, filled and written
by a dask task (the same store, byte for byte; --chunk is then unused).
"""

from __future__ import annotations

import argparse

from explorer.commands.options import add_dask_options, add_store_writing_arguments

NAME = "ingest"
HELP = "build a store from a FITS cube, a directory of FITS cutouts or an HDF5 file"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the flags of ``latentsky ingest``."""
    parser.add_argument(
        "src", help="FITS cube, directory of FITS cutouts, or HDF5 file"
    )
    parser.add_argument("store", help="store directory to create")
    parser.add_argument(
        "--catalog", help="catalogue file (CSV, FITS table or Parquet) with id, ra, dec"
    )
    add_store_writing_arguments(parser, step="read/write")
    # with dask the step is one Zarr shard of cutouts.zarr per task
    add_dask_options(parser)


def run(args: argparse.Namespace) -> int:
    """Ingest and print the sources, disk use and throughput."""
    import time

    from explorer.distributed.cluster import client_from_args
    from explorer.ingest import ingest

    started = time.perf_counter()
    with client_from_args(args) as client:
        if client is None:
            store = ingest(
                args.src,
                args.store,
                overwrite=args.overwrite,
                force=args.yes,
                catalog=args.catalog,
                chunk=args.chunk,
                progress=not args.no_progress,
            )
        else:
            from explorer.distributed.ingest import ingest_on_dask

            store = ingest_on_dask(
                client,
                args.src,
                args.store,
                overwrite=args.overwrite,
                force=args.yes,
                catalog=args.catalog,
                progress=not args.no_progress,
            )
    elapsed = time.perf_counter() - started
    print(
        f"ingested {store.n_sources:,} sources into {store.root} "
        f"({store.disk_bytes() / 2**20:,.1f} MiB) in {elapsed:.1f} s "
        f"({store.n_sources / max(elapsed, 1e-9):,.0f} sources/s)"
    )
    return 0
