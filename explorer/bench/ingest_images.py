"""``latentsky bench ingest-images``: cutting a store out of large survey images.

Workload (synthetic, generated here): ``--bands`` images of ``--image`` x
``--image`` float32 pixels sharing one TAN WCS (0.2"/px), sky noise 1 on a
level of 10, with ``--n`` Gaussian sources (sigma 1-3 px, fluxes log-uniform
50-5000) at random positions. Measured in one run:

- ``catalog``: ``ingest_images`` with the true positions as a Parquet
  catalogue (every band on the reference grid: section reads only);
- ``detect``: the same without a catalogue (sep detection on the first band,
  then cutting and per-band aperture fluxes);
- ``reproject``: the first band plus a band rotated by 30 degrees at
  0.15"/px covering the central 2000 x 2000 px, on the first
  ``--reproject-n`` catalogue sources there, for the per-source rate of the
  resampling path.

Each step runs in a fresh process and records seconds (inside that process,
imports excluded), sources per second and its peak RSS (the images are
memory-mapped, and their resident pages count; detection reads its band
whole once). The images were just written, so they are in the page cache. The
load average before and after is recorded: the machine may be shared.
"""

from __future__ import annotations

import argparse
import logging
import os
import resource
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from explorer.argtypes import positive_int
from explorer.bench import write_result

log = logging.getLogger(__name__)

PIXEL_ARCSEC = 0.2
CENTRE = (150.0, 2.0)
#: side of the central region covered by the rotated band
REPROJECT_REGION_PX = 2000


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags of the ingest-images benchmark (``--out`` is added by the dispatcher)."""
    parser.add_argument(
        "--image",
        type=positive_int,
        default=10_000,
        help="image side in pixels (default 10000)",
    )
    parser.add_argument(
        "--n", type=positive_int, default=50_000, help="sources (default 50000)"
    )
    parser.add_argument(
        "--bands", type=positive_int, default=3, help="bands (default 3)"
    )
    parser.add_argument(
        "--size",
        type=positive_int,
        default=32,
        help="cutout side in pixels (default 32)",
    )
    parser.add_argument(
        "--reproject-n",
        type=positive_int,
        default=500,
        help="sources cut through the reprojection path (default 500)",
    )
    parser.add_argument(
        "--chunk",
        type=positive_int,
        default=1024,
        help="sources per step (default 1024)",
    )
    parser.add_argument(
        "--workdir",
        default=None,
        help="folder for the images and stores (default a temp dir)",
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")


def tan_header(side: int, scale_arcsec: float, rotation_deg: float = 0.0) -> Any:
    """A FITS header with a TAN WCS centred on :data:`CENTRE`."""
    from astropy.io import fits

    scale, angle = scale_arcsec / 3600.0, np.deg2rad(rotation_deg)
    header = fits.Header()
    header["CTYPE1"], header["CTYPE2"] = "RA---TAN", "DEC--TAN"
    header["CRVAL1"], header["CRVAL2"] = CENTRE
    header["CRPIX1"] = header["CRPIX2"] = (side + 1) / 2.0
    header["CD1_1"], header["CD1_2"] = -scale * np.cos(angle), scale * np.sin(angle)
    header["CD2_1"], header["CD2_2"] = scale * np.sin(angle), scale * np.cos(angle)
    return header


def _stamp_sources(image: np.ndarray, x, y, flux, sigma) -> None:
    """Add Gaussians (11 x 11 to 19 x 19 stamps) at sub-pixel ``(x, y)``."""
    ny, nx = image.shape
    for xi, yi, fi, si in zip(x, y, flux, sigma, strict=True):
        half = int(np.ceil(3 * si))
        cx, cy = int(round(xi)), int(round(yi))
        x0, x1 = max(cx - half, 0), min(cx + half + 1, nx)
        y0, y1 = max(cy - half, 0), min(cy + half + 1, ny)
        yy, xx = np.mgrid[y0:y1, x0:x1]
        r2 = (xx - xi) ** 2 + (yy - yi) ** 2
        image[y0:y1, x0:x1] += fi * np.exp(-0.5 * r2 / si**2) / (2 * np.pi * si**2)


def write_images(
    workdir: Path, args: argparse.Namespace
) -> tuple[list[str], Path, Any]:
    """The band images, the catalogue and the sources' pixel positions."""
    import pandas as pd
    from astropy.io import fits
    from astropy.wcs import WCS

    rng = np.random.default_rng(args.seed)
    side, n = args.image, args.n
    x = rng.uniform(0, side - 1, n)
    y = rng.uniform(0, side - 1, n)
    flux = np.exp(rng.uniform(np.log(50), np.log(5000), n))
    sigma = rng.uniform(1.0, 3.0, n)
    header = tan_header(side, PIXEL_ARCSEC)
    specs = []
    for b in range(args.bands):
        image = rng.standard_normal((side, side), dtype=np.float32)
        image += 10.0
        colour = rng.uniform(0.5, 2.0, n)
        _stamp_sources(image, x, y, flux * colour, sigma)
        path = workdir / f"band{b}.fits"
        fits.PrimaryHDU(image, header=header).writeto(path, overwrite=True)
        specs.append(f"b{b}={path}")
        del image
    ra, dec = WCS(header).pixel_to_world_values(x, y)
    catalog = workdir / "catalog.parquet"
    pd.DataFrame({"id": np.arange(n), "ra": ra, "dec": dec}).to_parquet(catalog)
    return specs, catalog, (x, y, flux, sigma)


def central_subset(args: argparse.Namespace, truth: Any) -> np.ndarray:
    """Rows of the first ``--reproject-n`` sources in the central 2000 x 2000 px."""
    x, y = truth[0], truth[1]
    half = min(args.image, REPROJECT_REGION_PX) / 2 - 20
    centre = (args.image - 1) / 2
    inside = (abs(x - centre) < half) & (abs(y - centre) < half)
    return np.flatnonzero(inside)[: args.reproject_n]


def write_rotated_band(args: argparse.Namespace, truth: Any, rows, path: Path) -> str:
    """A band on another grid (30 degrees, 0.15"/px) covering the central region."""
    from astropy.io import fits
    from astropy.wcs import WCS

    x, y, flux, sigma = (v[rows] for v in truth)
    ref = WCS(tan_header(args.image, PIXEL_ARCSEC))
    ra, dec = ref.pixel_to_world_values(x, y)
    region = min(args.image, REPROJECT_REGION_PX)
    # the rotated square must hold the central region's diagonal
    side = int(region * PIXEL_ARCSEC / 0.15 * 1.42) + 1
    header = tan_header(side, 0.15, rotation_deg=30.0)
    rx, ry = WCS(header).world_to_pixel_values(ra, dec)
    image = np.random.default_rng(args.seed + 1).standard_normal(
        (side, side), dtype=np.float32
    )
    _stamp_sources(image, rx, ry, flux, sigma * PIXEL_ARCSEC / 0.15)
    fits.PrimaryHDU(image, header=header).writeto(path, overwrite=True)
    return f"rot={path}"


def _timed_ingest(
    label: str, store: Path, specs: list[str], catalog, size: int, chunk: int
) -> dict[str, Any]:
    """One ingest, timed, with this process's peak RSS (run in a fresh process)."""
    from explorer.ingest.images import CutoutSettings, ingest_images

    started = time.perf_counter()
    result = ingest_images(
        store,
        specs,
        catalog=catalog,
        cutouts=CutoutSettings(size=size),
        chunk=chunk,
        progress=False,
        overwrite=True,
    )
    seconds = time.perf_counter() - started
    n = result.store.n_sources
    return {
        "sources": n,
        "seconds": round(seconds, 2),
        "minutes": round(seconds / 60, 2),
        "sources_per_s": round(n / seconds, 1),
        "store_mib": round(result.store.disk_bytes() / 2**20, 1),
        # ru_maxrss is KiB on Linux; file-backed memory-mapped pages count too
        "peak_rss_mib": round(
            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1
        ),
    }


def _in_fresh_process(*args: Any) -> dict[str, Any]:
    """:func:`_timed_ingest` in a spawned process, so each peak RSS is its own."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        stats = pool.submit(_timed_ingest, *args).result()
    log.info("%s: %d sources in %.1f s", args[0], stats["sources"], stats["seconds"])
    return stats


def _versions(names: tuple[str, ...]) -> dict[str, str | None]:
    import importlib.metadata

    found = {}
    for name in names:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = None
    return found


def run(args: argparse.Namespace) -> Path:
    """Generate the images, run the three ingests, write the JSON record."""
    own = args.workdir is None
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="latentsky-bench-images-"))
    workdir.mkdir(parents=True, exist_ok=True)
    load_before = os.getloadavg()
    try:
        started = time.perf_counter()
        specs, catalog, truth = write_images(workdir, args)
        generate_s = time.perf_counter() - started
        common = (args.size, args.chunk)
        steps = {
            "catalog": _in_fresh_process(
                "catalog", workdir / "store_catalog", specs, catalog, *common
            ),
            "detect": _in_fresh_process(
                "detect", workdir / "store_detect", specs, None, *common
            ),
        }
        import pandas as pd

        rows = central_subset(args, truth)
        rotated = write_rotated_band(args, truth, rows, workdir / "rotated.fits")
        subset = workdir / "subset.parquet"
        pd.read_parquet(catalog).iloc[rows].to_parquet(subset)
        steps["reproject"] = _in_fresh_process(
            "reproject",
            workdir / "store_reproject",
            [specs[0], rotated],
            subset,
            *common,
        )
    finally:
        if own:
            shutil.rmtree(workdir, ignore_errors=True)
    results = {
        "workload": {
            "data": "synthetic",
            "image_px": [args.image, args.image],
            "bands": args.bands,
            "n_sources": args.n,
            "cutout_px": args.size,
            "dtype": "float32",
            "pixel_arcsec": PIXEL_ARCSEC,
            "seed": args.seed,
            "reproject_band": "30 deg rotation, 0.15 arcsec/px",
            "reproject_n": args.reproject_n,
            "chunk": args.chunk,
        },
        "generate_s": round(generate_s, 1),
        "steps": steps,
        "load_average_before": [round(v, 2) for v in load_before],
        "load_average_after": [round(v, 2) for v in os.getloadavg()],
        "machine_shared": True,
        "versions_images": _versions(("astropy", "sep", "reproject", "zarr")),
    }
    return write_result("ingest-images", results, args.out)
