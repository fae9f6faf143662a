"""Tests of explorer.store.hats: a version as a HATS catalogue, and back.

One export of the shared analysed store (400 sources, version ``v1``) through
``latentsky export STORE --format hats OUT`` is read back with lsdb, cross-
matched with a second catalogue built by hand, and ingested as the catalogue
of the same cutouts.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from explorer import cli
from explorer.errors import DataError, IngestError
from explorer.store import Store
from explorer.store.hats import (
    export_hats,
    is_hats,
    read_hats,
    version_table,
)

pytestmark = [
    pytest.mark.slow,  # importing lsdb alone takes several seconds
    # lsdb 0.11 calls pandas API that pandas 3.1 deprecates (not our code)
    pytest.mark.filterwarnings("ignore::pandas.errors.Pandas4Warning"),
]

#: Offset of the true counterparts in the second catalogue, arcsec.
MATCH_OFFSET = 0.3
#: Offset of the decoys, beyond the 1 arcsec match radius, arcsec.
DECOY_OFFSET = 3.0


@pytest.fixture(scope="module")
def exported(analysed_store, tmp_path_factory):
    """``(store, hats folder)``: the analysed store exported by the CLI."""
    out = tmp_path_factory.mktemp("hats") / "demo_hats"
    assert cli.main(["export", str(analysed_store), "--format", "hats", str(out)]) == 0
    return Store.open(analysed_store), out


def _offset(ra, dec, arcsec, angle):
    """Positions ``arcsec`` away from (ra, dec) in direction ``angle`` (rad)."""
    step = arcsec / 3600.0
    return (
        ra + step * np.cos(angle) / np.cos(np.radians(dec)),
        dec + step * np.sin(angle),
    )


def test_round_trip_keeps_every_value(exported):
    store, out = exported
    assert is_hats(out)
    expected = version_table(store)
    map_columns = [c for c in store.map_table().columns if c != "id"]
    # map columns keep their map.parquet names after the catalogue's
    assert list(expected.columns[-len(map_columns) - 2 : -2]) == map_columns
    back = read_hats(out).sort_values("id", ignore_index=True)
    assert list(back.columns) == list(expected.columns)
    assert back["id"].dtype == np.int64 and back["ra"].dtype == np.float64
    pd.testing.assert_frame_equal(back, expected, check_dtype=False)
    np.testing.assert_array_equal(back["x"], store.map_table()["x"])
    primary = out / f"{store.root.name}_v1"  # beside it: the margin cache
    text = (primary / "hats.properties").read_text().splitlines()
    assert {"hats_col_ra=ra", "hats_col_dec=dec", "latentsky_version=v1"} <= set(text)


def test_lsdb_reads_it_and_crossmatches_within_one_arcsec(exported):
    import lsdb

    store, out = exported
    catalog = lsdb.open_catalog(out)
    assert len(catalog.compute(progress_bar=False)) == store.n_sources
    rng = np.random.default_rng(7)
    rows = rng.choice(store.n_sources, 30, replace=False)
    ra, dec = store.catalog["ra"].to_numpy(), store.catalog["dec"].to_numpy()
    angle = rng.uniform(0, 2 * np.pi, 30)
    true_ra, true_dec = _offset(ra[rows[:20]], dec[rows[:20]], MATCH_OFFSET, angle[:20])
    far_ra, far_dec = _offset(ra[rows[20:]], dec[rows[20:]], DECOY_OFFSET, angle[20:])
    other = pd.DataFrame(
        {
            "other_id": np.arange(30),
            "ra": np.concatenate([true_ra, far_ra]),
            "dec": np.concatenate([true_dec, far_dec]),
        }
    )
    # with its margin cache, as lsdb's authors run a cross-match (exact at
    # tile edges; without one lsdb warns that matches may be missing)
    second = lsdb.from_dataframe(other, ra_column="ra", dec_column="dec")
    matches = catalog.crossmatch(
        second,
        radius_arcsec=1.0,
        n_neighbors=1,
        suffixes=("", "_other"),
        suffix_method="overlapping_columns",
    ).compute(progress_bar=False)
    matches = matches.sort_values("other_id")
    # exactly the 20 true counterparts, each to its own source, none of the decoys
    assert matches["other_id"].tolist() == list(range(20))
    assert matches["id"].tolist() == store.ids[rows[:20]].tolist()
    np.testing.assert_allclose(matches["_dist_arcsec"], MATCH_OFFSET, rtol=1e-3)
    assert "anomaly_score" in matches.columns


def test_ingest_takes_the_hats_catalogue_of_the_same_cutouts(
    exported, demo_fits, tmp_path
):
    from explorer.ingest import ingest

    store, out = exported
    built = ingest(demo_fits, tmp_path / "again", catalog=out, progress=False)
    # HATS keeps rows in sky order: ingest puts them back in id order, so
    # row i is again the cutout of source i
    np.testing.assert_array_equal(built.ids, store.ids)
    np.testing.assert_array_equal(built.catalog["ra"], store.catalog["ra"])
    np.testing.assert_array_equal(
        built.cutouts_at([0, 399]), store.cutouts_at([0, 399])
    )
    np.testing.assert_allclose(
        built.catalog["anomaly_score"], store.map_table()["anomaly_score"]
    )


def test_a_folder_that_is_not_hats_is_refused(exported, tmp_path, capsys):
    from explorer.ingest.catalog import read_table_file

    store, _ = exported
    folder = tmp_path / "not_hats"
    folder.mkdir()
    (folder / "keep.txt").write_text("mine")
    with pytest.raises(DataError, match="exists and is not a HATS catalogue"):
        export_hats(store, folder)
    assert (folder / "keep.txt").read_text() == "mine"
    with pytest.raises(IngestError, match="is a folder but not a HATS catalogue"):
        read_table_file(folder)
    argv = ["export", str(store.root), "--format", "hats", str(folder)]
    assert cli.main(argv) == 2
    assert "not a HATS catalogue" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (["out", "--ids", "1,2"], "--format hats exports every source of a version"),
        ([], "--format hats needs the output folder"),
    ],
)
def test_hats_export_arguments(extra, expected, tmp_path, capsys):
    argv = ["export", str(tmp_path / "no-store"), "--format", "hats", *extra]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and expected in err


def test_a_table_export_still_needs_a_selection(tmp_path, capsys):
    assert cli.main(["export", str(tmp_path / "s"), "--out", "o.csv"]) == 2
    assert "choose the sources" in capsys.readouterr().err
