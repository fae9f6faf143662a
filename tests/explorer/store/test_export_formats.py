"""Every export format carries the same columns and values back (round trip),
and ``latentsky export`` writes PNG contact sheets and cone selections."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from astropy.table import Table
from PIL import Image

from explorer.cli import main
from explorer.store.annotations import Annotations
from explorer.store.export import FORMAT_SUFFIX, FORMATS, export_sources, source_table

from .test_export import _tiny_store

EXPECTED = [
    "id", "ra", "dec", "mag_r", "survey_field", "map_x", "map_y",
    "anomaly_score", "anomaly_rank", "cluster", "tag", "saved_clusters",
]  # fmt: skip


@pytest.fixture
def store(tmp_path):
    store = _tiny_store(tmp_path / "store")
    notes = Annotations(store.annotations_path)
    notes.save_cluster("pair", [101, 104])
    notes.save_cluster("trio", [104, 105, 106])
    notes.tag(104, "interesting")
    return store


def _read(path, fmt: str) -> pd.DataFrame:
    if fmt == "csv":
        return pd.read_csv(path, comment="#", keep_default_na=False)
    if fmt == "parquet":
        return pd.read_parquet(path)
    table = Table.read(path, format=fmt)
    for name in table.colnames:
        if table[name].dtype.kind in "SU":
            # astropy reads FITS's empty strings back as masked
            table[name] = [
                "" if v is np.ma.masked else str(v) for v in table[name].tolist()
            ]
    return table.to_pandas()


@pytest.mark.parametrize("fmt", FORMATS)
def test_round_trip_of_every_column(store, tmp_path, fmt):
    ids = [104, 101, 120]
    path = export_sources(store, ids, tmp_path / f"out{FORMAT_SUFFIX[fmt]}")
    back = _read(path, fmt)
    assert list(back.columns) == EXPECTED
    want = source_table(store, ids)
    assert back["id"].tolist() == ids
    for col in ("ra", "dec", "map_x", "map_y", "anomaly_score"):
        np.testing.assert_allclose(back[col], want[col], rtol=1e-6)
    assert back["cluster"].tolist() == want["cluster"].tolist()
    assert [str(t) for t in back["tag"]] == ["interesting", "", ""]
    saved = [str(s) for s in back["saved_clusters"]]
    assert saved == ["pair;trio", "pair", ""]
    # the catalogue row of 104, by hand
    cat = store.catalog.set_index("id").loc[104]
    assert back["survey_field"].iat[0] == cat["survey_field"]
    assert back["ra"].iat[0] == pytest.approx(cat["ra"])


def test_parquet_carries_units_and_metadata(store, tmp_path):
    path = export_sources(store, [101], tmp_path / "a.parquet", meta={"cluster": "x"})
    meta = json.loads(pq.read_schema(path).metadata[b"latentsky"])
    assert meta["units"] == {"ra": "deg", "dec": "deg"}
    assert meta["cluster"] == "x" and meta["nsources"] == 1


def test_cli_contact_sheet_of_a_cluster(store, tmp_path, capsys):
    from explorer.app.render.sheet import sheet_size

    out = tmp_path / "sheet.png"
    args = ["export", str(store.root), "--cluster", "trio", "--out", str(out)]
    assert main([*args, "--stretch", "asinh", "--tile", "40"]) == 0
    assert "contact sheet of 3 sources" in capsys.readouterr().out
    image = Image.open(io.BytesIO(out.read_bytes()))
    assert image.size == sheet_size(3, 40)  # 2 x 2 grid of 40 px tiles
    assert "asinh" in image.info["Description"]


def test_cli_table_and_sheet_together_and_bad_rgb(store, tmp_path, capsys):
    table, sheet = tmp_path / "t.parquet", tmp_path / "s.png"
    base = ["export", str(store.root), "--ids", "100,101", "--out", str(table)]
    assert main([*base, "--contact-sheet", str(sheet), "--rgb", "r,g,g"]) == 0
    assert pd.read_parquet(table)["id"].tolist() == [100, 101]
    assert Image.open(io.BytesIO(sheet.read_bytes())).size == (4 + 2 * 100, 4 + 114)
    capsys.readouterr()
    assert main([*base, "--contact-sheet", str(sheet), "--rgb", "r,g,u"]) == 2
    assert "band 'u' for B is not one of the store's bands" in capsys.readouterr().err
    assert main(["export", str(store.root), "--ids", "100"]) == 2
    assert "nothing to write" in capsys.readouterr().err


def test_cli_cone_export(store, tmp_path, capsys):
    cat = store.catalog
    ra, dec = float(cat["ra"].iat[3]), float(cat["dec"].iat[3])
    out = tmp_path / "cone.csv"
    cone = f"{ra} {dec} 1arcsec"
    assert main(["export", str(store.root), "--cone", cone, "--out", str(out)]) == 0
    assert pd.read_csv(out, comment="#")["id"].tolist() == [int(cat["id"].iat[3])]
    capsys.readouterr()
    bad = ["export", str(store.root), "--cone", "150 2 nonsense", "--out", str(out)]
    assert main(bad) == 2
    assert "no radius in cone search" in capsys.readouterr().err
