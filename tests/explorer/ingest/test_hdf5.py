"""Ingestion of Galaxy10-DECaLS-style HDF5 files."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

from explorer.errors import IngestError
from explorer.ingest import ingest


def _write_h5(path: Path, n: int = 5, size: int = 8, **datasets) -> np.ndarray:
    images = np.random.default_rng(0).integers(
        0, 256, (n, size, size, 3), dtype=np.uint8
    )
    with h5py.File(path, "w") as h5:
        h5["images"] = images
        h5["ra"] = np.linspace(10, 11, n)
        h5["dec"] = np.linspace(-1, 1, n)
        h5["ans"] = np.arange(n, dtype=np.uint8) % 10
        for name, value in datasets.items():
            if value is None:
                del h5[name]
            else:
                h5[name] = value
    return images


def test_galaxy10_hdf5(tmp_path):
    images = _write_h5(tmp_path / "Galaxy10_DECals.h5")
    store = ingest(
        tmp_path / "Galaxy10_DECals.h5", tmp_path / "s", chunk=2, progress=False
    )
    assert store.bands == ["g", "r", "z"]
    assert store.cutout_size == 8
    expected = images.transpose(0, 3, 1, 2).astype(np.float32) / 255
    np.testing.assert_allclose(np.asarray(store.cutouts[:]), expected, rtol=1e-6)
    assert store.catalog["ans"].tolist() == [0, 1, 2, 3, 4]
    assert store.ids.tolist() == [0, 1, 2, 3, 4]


def test_hdf5_errors(tmp_path):
    _write_h5(tmp_path / "a.h5", ra=None)
    with pytest.raises(IngestError, match=r"a\.h5.*'ra'"):
        ingest(tmp_path / "a.h5", tmp_path / "s", progress=False)
    with h5py.File(tmp_path / "b.h5", "w") as h5:
        h5["pictures"] = np.zeros((2, 8, 8, 3), np.uint8)
    with pytest.raises(IngestError, match=r"b\.h5.*no 'images'"):
        ingest(tmp_path / "b.h5", tmp_path / "s", progress=False)
    (tmp_path / "c.h5").write_bytes(b"not hdf5 at all")
    with pytest.raises(IngestError, match=r"c\.h5.*not a readable HDF5"):
        ingest(tmp_path / "c.h5", tmp_path / "s", progress=False)
    assert not (tmp_path / "s").exists()
