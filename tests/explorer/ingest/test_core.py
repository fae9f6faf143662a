"""The ingest dispatcher: input detection, store targets, atomic publication."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from astropy.io import fits

from explorer.errors import IngestError, StoreError
from explorer.ingest import ingest
from explorer.store import Store


def _digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_unknown_or_missing_source(tmp_path):
    text = tmp_path / "survey.txt"
    text.write_text("ra,dec\n")
    with pytest.raises(IngestError, match=r"survey\.txt: unknown source type"):
        ingest(text, tmp_path / "s", progress=False)
    with pytest.raises(IngestError, match=r"nope\.fits does not exist"):
        ingest(tmp_path / "nope.fits", tmp_path / "s", progress=False)


def test_store_path_that_is_not_a_store(tmp_path, make_cube, make_table, write_cube):
    src = write_cube(tmp_path / "c.fits", make_cube(2), make_table(2))
    target = tmp_path / "home"
    target.mkdir()
    (target / "thesis.tex").write_text("precious")
    with pytest.raises(StoreError, match=r"home exists and is not a latentsky store"):
        ingest(src, target, overwrite=True, progress=False)
    assert (target / "thesis.tex").read_text() == "precious"


def test_existing_store_needs_overwrite(tmp_path, make_cube, make_table, write_cube):
    src = write_cube(tmp_path / "c.fits", make_cube(2), make_table(2))
    ingest(src, tmp_path / "s", progress=False)
    with pytest.raises(StoreError, match="already exists"):
        ingest(src, tmp_path / "s", progress=False)
    src2 = write_cube(tmp_path / "d.fits", make_cube(5), make_table(5))
    assert ingest(src2, tmp_path / "s", overwrite=True, progress=False).n_sources == 5


def test_failed_ingest_leaves_existing_store_unchanged(
    tmp_path, make_cube, make_table, write_cube
):
    good = write_cube(tmp_path / "good.fits", make_cube(6), make_table(6))
    root = tmp_path / "s"
    ingest(good, root, progress=False)
    before = _digest(root)
    # fails late, after the first chunks were written to the temporary store
    directory = tmp_path / "d"
    directory.mkdir()
    for i, size in enumerate((8, 8, 12)):
        fits.PrimaryHDU(np.zeros((2, size, size), np.float32)).writeto(
            directory / f"{i}.fits"
        )
    pd.DataFrame({"id": [0, 1, 2], "ra": [0, 1, 2], "dec": [0, 1, 2]}).to_csv(
        directory / "catalog.csv", index=False
    )
    with pytest.raises(IngestError, match="mixed cutout sizes"):
        ingest(directory, root, overwrite=True, chunk=1, progress=False)
    bad = tmp_path / "bad.fits"
    bad.write_bytes(b"garbage" * 1000)
    with pytest.raises(IngestError):
        ingest(bad, root, overwrite=True, progress=False)
    assert _digest(root) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "bad.fits",
        "d",
        "good.fits",
        "s",
    ]
    assert Store.open(root).n_sources == 6
