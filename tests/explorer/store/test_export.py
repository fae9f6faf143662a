"""Tests of explorer.store.export: CSV, FITS and VOTable written and read back."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from astropy.io import votable
from astropy.table import Table

from explorer.errors import DataError, StoreError
from explorer.store import Store
from explorer.store.annotations import Annotations
from explorer.store.export import (
    export_bytes,
    export_cluster,
    export_sources,
    format_of,
    source_table,
)


def _tiny_store(root, n=30, seed=0):
    """A store with ``n`` 8x8 two-band sources and one version ``v1``."""
    rng = np.random.default_rng(seed)
    catalog = pd.DataFrame(
        {
            "id": np.arange(100, 100 + n, dtype=np.int64),
            "ra": rng.uniform(0, 360, n),
            "dec": rng.uniform(-90, 90, n),
            "mag_r": rng.normal(20, 1, n).astype(np.float32),
            "survey_field": [f"f{i % 3}" for i in range(n)],
            "_truth_label": ["hidden"] * n,
        }
    )
    cutouts = rng.normal(size=(n, 2, 8, 8)).astype(np.float32)
    with Store.build(root, ["g", "r"], 8) as builder:
        builder.append(cutouts, catalog)
    store = builder.store
    with store.new_version("v1") as tmp:
        emb = rng.normal(size=(n, 4)).astype(np.float32)
        np.save(
            tmp / "embeddings.npy", emb / np.linalg.norm(emb, axis=1, keepdims=True)
        )
        pd.DataFrame(
            {
                "id": catalog["id"],
                "x": rng.normal(size=n).astype(np.float32),
                "y": rng.normal(size=n).astype(np.float32),
                "anomaly_score": rng.uniform(size=n).astype(np.float32),
                "anomaly_rank": np.arange(1, n + 1, dtype=np.int32),
                "cluster": (np.arange(n) % 4 - 1).astype(np.int32),
            }
        ).to_parquet(tmp / "map.parquet", index=False)
    return store


@pytest.fixture
def store(tmp_path):
    return _tiny_store(tmp_path / "store")


def _expected(store, ids):
    rows = store.rows_of(ids)
    return store.catalog.iloc[rows].reset_index(drop=True), store.map_table().iloc[
        rows
    ].reset_index(drop=True)


def test_format_from_suffix_and_errors():
    assert format_of("a.CSV") == "csv"
    assert format_of("a.fits") == "fits"
    assert format_of("a.xml") == "votable"
    assert format_of("a.txt", "VOTable") == "votable"
    with pytest.raises(DataError, match="a.txt"):
        format_of("a.txt")
    with pytest.raises(DataError, match="'hdf5'"):
        format_of("a.csv", "hdf5")


def test_table_columns_and_values(store):
    notes = Annotations(store.annotations_path)
    notes.tag(103, "interesting")
    notes.save_cluster("pair", [103, 104])
    table = source_table(store, [104, 103, 104])
    assert table["id"].tolist() == [104, 103]
    assert "_truth_label" not in table.columns
    for col in ("ra", "dec", "mag_r", "map_x", "map_y", "anomaly_score", "cluster"):
        assert col in table.columns
    cat, mp = _expected(store, [104, 103])
    np.testing.assert_allclose(table["ra"], cat["ra"])
    np.testing.assert_allclose(table["map_x"], mp["x"])
    assert table["tag"].tolist() == ["", "interesting"]
    assert table["saved_clusters"].tolist() == ["pair", "pair"]


def test_csv_round_trip(store, tmp_path):
    ids = [110, 101, 120]
    out = export_sources(store, ids, tmp_path / "sel.csv")
    back = pd.read_csv(out, comment="#")
    cat, mp = _expected(store, ids)
    assert back["id"].tolist() == ids
    np.testing.assert_allclose(back["ra"], cat["ra"], rtol=1e-12)
    np.testing.assert_allclose(back["dec"], cat["dec"], rtol=1e-12)
    np.testing.assert_allclose(back["anomaly_score"], mp["anomaly_score"], rtol=1e-6)
    assert back["cluster"].tolist() == mp["cluster"].tolist()
    assert "version: v1" in out.read_text().splitlines()[1]


def test_fits_round_trip_with_units(store, tmp_path):
    notes = Annotations(store.annotations_path)
    notes.save_cluster("odd ones", [105, 107, 109], note="checked by eye")
    notes.tag(107, "boring")
    out = export_cluster(store, notes, "odd ones", tmp_path / "odd.fits")
    back = Table.read(out, format="fits")
    cat, mp = _expected(store, [105, 107, 109])
    assert back["id"].tolist() == [105, 107, 109]
    assert back["ra"].unit == "deg" and back["dec"].unit == "deg"
    assert back["mag_r"].unit == "mag"
    np.testing.assert_allclose(back["ra"], cat["ra"])
    np.testing.assert_allclose(back["dec"], cat["dec"])
    np.testing.assert_allclose(back["map_y"], mp["y"])
    assert back["survey_field"].tolist() == cat["survey_field"].tolist()
    # astropy reads empty FITS strings back as masked
    tags = back["tag"].filled("") if hasattr(back["tag"], "filled") else back["tag"]
    assert [str(t).strip() for t in tags] == ["", "boring", ""]
    assert back.meta["CLUSTER"] == "odd ones"
    assert back.meta["NOTE"] == "checked by eye"


def test_votable_round_trip_with_units(store, tmp_path):
    out = export_sources(store, [100, 129], tmp_path / "sel.vot", version="v1")
    parsed = votable.parse_single_table(out).to_table()
    cat, mp = _expected(store, [100, 129])
    assert parsed["ra"].unit == "deg"
    np.testing.assert_allclose(parsed["ra"], cat["ra"])
    np.testing.assert_allclose(parsed["dec"], cat["dec"])
    np.testing.assert_allclose(parsed["anomaly_score"], mp["anomaly_score"])
    assert parsed["id"].tolist() == [100, 129]


def test_store_without_versions_exports_catalog(tmp_path):
    rng = np.random.default_rng(1)
    catalog = pd.DataFrame(
        {"id": np.arange(5, dtype=np.int64), "ra": np.ones(5), "dec": np.zeros(5)}
    )
    with Store.build(tmp_path / "s", ["g"], 8) as builder:
        builder.append(rng.normal(size=(5, 1, 8, 8)).astype(np.float32), catalog)
    table = source_table(builder.store, [1, 2])
    assert list(table.columns) == ["id", "ra", "dec", "tag", "saved_clusters"]


def test_bad_inputs(store, tmp_path):
    with pytest.raises(DataError, match="empty"):
        export_sources(store, [], tmp_path / "a.csv")
    with pytest.raises(StoreError, match=r"\[999\]"):
        export_sources(store, [999], tmp_path / "a.csv")
    with pytest.raises(StoreError, match="no version 'v9'"):
        export_sources(store, [100], tmp_path / "a.csv", version="v9")
    with pytest.raises(DataError, match="no saved cluster"):
        export_cluster(
            store, Annotations(store.annotations_path), "x", tmp_path / "a.csv"
        )
    assert not (tmp_path / "a.csv").exists()


def test_failed_write_leaves_old_file(store, tmp_path, monkeypatch):
    target = tmp_path / "sel.fits"
    export_sources(store, [100], target)
    before = target.read_bytes()

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(Table, "write", boom)
    with pytest.raises(OSError, match="disk full"):
        export_sources(store, [100, 101], target)
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_export_bytes_matches_file(store, tmp_path):
    data = export_bytes(store, [101, 102], "votable")
    path = tmp_path / "b.vot"
    path.write_bytes(data)
    parsed = votable.parse_single_table(path).to_table()
    assert parsed["id"].tolist() == [101, 102]
    with pytest.raises(DataError, match="format"):
        export_bytes(store, [101], "xlsx")


def test_cli_export(store, tmp_path, capsys):
    from explorer.cli import main

    Annotations(store.annotations_path).save_cluster("pair", [100, 101])
    out = tmp_path / "pair.fits"
    assert (
        main(["export", str(store.root), "--cluster", "pair", "--out", str(out)]) == 0
    )
    assert "wrote 2 sources" in capsys.readouterr().out
    assert Table.read(out)["id"].tolist() == [100, 101]
    top = tmp_path / "top.csv"
    assert (
        main(["export", str(store.root), "--top-anomalies", "3", "--out", str(top)])
        == 0
    )
    back = pd.read_csv(top, comment="#")
    expected = store.map_table().nlargest(3, "anomaly_score")["id"].tolist()
    assert back["id"].tolist() == expected
    assert main(["export", str(store.root), "--ids", "1,x", "--out", str(top)]) == 2
    assert "not a comma-separated list" in capsys.readouterr().err
    code = main(["export", str(store.root), "--cluster", "nope", "--out", str(top)])
    assert code == 2 and "no saved cluster named 'nope'" in capsys.readouterr().err


def test_export_bytes_of_a_cluster(store):
    notes = Annotations(store.annotations_path)
    notes.save_cluster("pair", [103, 101], note="two")
    data = export_bytes(store, None, "csv", "v1", cluster="pair")
    assert data.startswith(b"# store")
    assert "# cluster: pair" in data.decode() and "# note: two" in data.decode()
    back = [ln for ln in data.decode().splitlines() if not ln.startswith("#")]
    assert len(back) == 3 and back[0].startswith("id,ra,dec")
    assert export_bytes(store, None, "fits", cluster="pair").startswith(b"SIMPLE")
    with pytest.raises(DataError, match="exactly one"):
        export_bytes(store, [101], "csv", cluster="pair")
    with pytest.raises(DataError, match="exactly one"):
        export_bytes(store, None, "csv")
    with pytest.raises(DataError, match="no saved cluster"):
        export_bytes(store, None, "csv", cluster="nope")
