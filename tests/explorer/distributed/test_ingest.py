"""``ingest --dask``: the store of the single-process path, byte for byte."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import zarr
from astropy.io import fits
from astropy.table import Table

from explorer.cli import main
from explorer.distributed.ingest import ingest_on_dask
from explorer.errors import IngestError
from explorer.ingest import ingest
from explorer.store import Store, layout

#: Three Zarr shards (1024 + 1024 + 52 sources): three tasks.
N, BANDS, SIZE = 2100, 3, 16


def _files(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def cube_with_holes(tmp_path_factory) -> Path:
    """A FITS cube of N noisy cutouts with NaN/inf pixels in every shard."""
    rng = np.random.default_rng(7)
    cube = rng.normal(10.0, 2.0, size=(N, BANDS, SIZE, SIZE)).astype(np.float32)
    holes = rng.choice(cube.size, 3000, replace=False)
    cube.reshape(-1)[holes[:2000]] = np.nan
    cube.reshape(-1)[holes[2000:]] = np.inf
    cube[1500, 1] = np.nan  # a whole band: filled with 0
    table = Table(
        {
            "id": np.arange(N) + 100,
            "ra": rng.uniform(150, 151, N),
            "dec": rng.uniform(2, 3, N),
            "mag": rng.uniform(18, 24, N).astype(np.float32),
        }
    )
    primary = fits.PrimaryHDU(cube)
    primary.header["BANDS"] = "g,r,z"
    path = tmp_path_factory.mktemp("dask_ingest") / "holes.fits"
    fits.HDUList([primary, fits.BinTableHDU(table, name="CATALOG")]).writeto(path)
    return path


@pytest.mark.slow
def test_cli_ingest_on_the_scheduler_is_byte_identical(
    cube_with_holes, dask_client, tmp_path
):
    single, dasked = tmp_path / "single", tmp_path / "dask"
    ingest(cube_with_holes, single, progress=False, chunk=300)
    args = ["ingest", str(cube_with_holes), str(dasked), "--no-progress"]
    assert main([*args, "--scheduler", dask_client.scheduler.address]) == 0
    a, b = (
        zarr.open_array(single / layout.CUTOUTS),
        zarr.open_array(dasked / layout.CUTOUTS),
    )
    assert (a.shape, a.dtype, a.chunks, a.shards) == (
        b.shape,
        b.dtype,
        b.chunks,
        b.shards,
    )
    np.testing.assert_array_equal(a[:], b[:])
    files_a, files_b = _files(single), _files(dasked)
    del files_a[layout.MANIFEST], files_b[layout.MANIFEST]  # creation times
    assert files_a == files_b  # every shard file and catalog.parquet
    catalog = pd.read_parquet(dasked / layout.CATALOG)
    # the NaN/inf count per source, by hand from the input cube
    with fits.open(cube_with_holes) as hdul:
        expected = (~np.isfinite(hdul[0].data)).sum(axis=(1, 2, 3))
    np.testing.assert_array_equal(catalog["n_masked"], expected)
    assert catalog["n_masked"][1500] >= SIZE * SIZE
    assert np.all(b[1500, 1] == 0.0)
    assert (
        Store.open(dasked).manifest["source"] == Store.open(single).manifest["source"]
    )
    assert not list(tmp_path.glob(".*building*"))


@pytest.mark.slow
def test_a_failing_task_leaves_no_store(dask_client, tmp_path):
    folder = tmp_path / "cutouts"
    folder.mkdir()
    rng = np.random.default_rng(0)
    ids = np.arange(30)
    for i in ids:
        size = 9 if i == 25 else 8  # one file unlike the first
        fits.PrimaryHDU(rng.normal(size=(2, size, size)).astype(np.float32)).writeto(
            folder / f"{i}.fits"
        )
    pd.DataFrame({"id": ids, "ra": ids * 0.1, "dec": ids * 0.0}).to_csv(
        folder / "catalog.csv", index=False
    )
    with pytest.raises(IngestError, match="25.fits"):
        ingest_on_dask(dask_client, folder, tmp_path / "store", progress=False)
    assert not (tmp_path / "store").exists()
    assert not list(tmp_path.glob(".store.building*"))
