"""Bad survey files and option values, run through the real ``latentsky`` command.

Table-driven: each case writes a bad input (or names a bad option value) in a
temporary directory and gives the argv and the expected message. A failing
case must exit 2 with one ``latentsky CMD: error: ...`` line on stderr naming
the problem, no traceback, and leave no store (nor a build directory) behind;
an existing store that ``--overwrite`` would replace is left byte-identical.
Inputs that are unusual but valid (NaN/inf pixels, integer and big-endian
data, unicode ids, huge strings) must ingest, with the values read back.
The damaged-store cases are in ``test_bad_store_inputs.py``.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from astropy.io import fits
from astropy.table import Table

N = 12


def _cube(n: int = N, bands: int = 2, size: int = 8, dtype=np.float32) -> np.ndarray:
    rng = np.random.default_rng(0)
    return (rng.normal(size=(n, bands, size, size)) * 100).astype(dtype)


def _table(n: int = N, **columns) -> Table:
    rng = np.random.default_rng(1)
    cols = {
        "id": np.arange(n, dtype=np.int64) + 10,
        "ra": rng.uniform(10, 20, n),
        "dec": rng.uniform(-5, 5, n),
    }
    cols.update(columns)
    return Table(cols)


def _write(path: Path, cube: np.ndarray | None, table: Table | None) -> Path:
    hdus = [fits.PrimaryHDU(cube)]
    if table is not None:
        hdus.append(fits.BinTableHDU(table, name="CATALOG"))
    fits.HDUList(hdus).writeto(path)
    return path


def _with(column: str, row: int, value) -> Table:
    """The default table with ``table[column][row] = value``."""
    table = _table()
    values = np.asarray(table[column]).astype(np.asarray(value).dtype, copy=True)
    if values.dtype.kind == "U":
        values = np.asarray(table[column]).astype(object)
    values[row] = value
    table[column] = values
    return table


@dataclass(frozen=True)
class Case:
    """A bad input: ``make(tmp) -> src`` and the message expected."""

    name: str
    make: Callable[[Path], Path]
    message: str
    extra: tuple[str, ...] = field(default_factory=tuple)


def _garbage(tmp: Path) -> Path:
    path = tmp / "garbage.fits"
    path.write_bytes(np.random.default_rng(0).bytes(20000))
    return path


def _truncated(tmp: Path) -> Path:
    path = _write(tmp / "cut.fits", _cube(), _table())
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def _header_only(tmp: Path) -> Path:
    path = _write(tmp / "head.fits", _cube(), _table())
    path.write_bytes(path.read_bytes()[:2880])
    return path


def _table_only(tmp: Path) -> Path:
    return _write(tmp / "table.fits", None, _table())


def _image_as_table(tmp: Path) -> Path:
    """The cube stored as a table column (a table where an image is expected)."""
    path = tmp / "astable.fits"
    table = _table(pixels=_cube().reshape(N, -1))
    fits.HDUList([fits.PrimaryHDU(), fits.BinTableHDU(table)]).writeto(path)
    return path


def _dir_with_table_hdu(tmp: Path) -> Path:
    folder = tmp / "cutouts"
    folder.mkdir()
    table = _table(2)
    for source_id in table["id"]:
        fits.HDUList([fits.PrimaryHDU(), fits.BinTableHDU(_table(3))]).writeto(
            folder / f"{source_id}.fits"
        )
    table.write(folder / "catalog.csv")
    return folder


def _garbage_hdf5(tmp: Path) -> Path:
    path = tmp / "garbage.h5"
    path.write_bytes(b"\x89HDF\r\n\x1a\n" + np.random.default_rng(0).bytes(4000))
    return path


def _hdf5_strings(tmp: Path) -> Path:
    import h5py

    path = tmp / "strings.h5"
    with h5py.File(path, "w") as h5:
        h5["images"] = np.array([b"not", b"an", b"image"])
        h5["ra"] = np.zeros(3)
        h5["dec"] = np.zeros(3)
    return path


def _garbage_catalog(tmp: Path) -> Path:
    path = _write(tmp / "cube.fits", _cube(), None)
    (tmp / "cat.parquet").write_bytes(b"PAR1" + np.random.default_rng(0).bytes(500))
    return path


def _csv_catalog(tmp: Path, **changes) -> Path:
    """A FITS cube without table and ``cat.csv`` with ``changes`` (column -> values)."""
    table = _table().to_pandas()
    for column, values in changes.items():
        table[column] = values
    table.to_csv(tmp / "cat.csv", index=False)
    return _write(tmp / "cube.fits", _cube(), None)


def _text_ra(tmp: Path) -> Path:
    return _csv_catalog(tmp, ra=["1.5", "north"] + ["2"] * (N - 2))


def _missing_id(tmp: Path) -> Path:
    return _csv_catalog(tmp, id=["a", "b", ""] + [f"s{i}" for i in range(N - 3)])


def _cube_case(name: str, cube: np.ndarray, table: Table, message: str) -> Case:
    return Case(name, lambda tmp: _write(tmp / f"{name}.fits", cube, table), message)


FAILING = [
    Case("garbage-fits", _garbage, "garbage.fits"),
    Case("truncated-fits", _truncated, "truncated"),
    Case("header-only-fits", _header_only, "truncated"),
    Case("table-where-image-expected", _table_only, "no image hdu"),
    Case("cube-as-table-column", _image_as_table, "no image hdu"),
    Case("fits-dir-table-hdus", _dir_with_table_hdu, "no image hdu"),
    Case("garbage-hdf5", _garbage_hdf5, "not a readable hdf5"),
    Case("hdf5-string-images", _hdf5_strings, "images"),
    Case(
        "garbage-catalog-parquet",
        _garbage_catalog,
        "cat.parquet",
        ("--catalog", "{tmp}/cat.parquet"),
    ),
    _cube_case("zero-pixel", np.zeros((N, 2, 0, 0), np.float32), _table(), "0 px"),
    _cube_case("one-pixel", _cube(size=1), _table(), "1 px is too small"),
    _cube_case("non-square", _cube()[..., :6], _table(), "not square"),
    _cube_case("rank-2", np.zeros((N, 8), np.float32), _table(), "rank 2"),
    _cube_case("rows-differ", _cube(), _table(N - 1), "11 rows"),
    _cube_case("duplicate-ids", _cube(), _with("id", 3, 10), "duplicate source ids"),
    _cube_case(
        "nan-float-id",
        _cube(),
        _with("id", 4, np.nan),
        "column 'id' has no value (nan) at row 4",
    ),
    _cube_case(
        "ra-above-360", _cube(), _with("ra", 2, 400.0), "'ra' is 400.0 at row 2"
    ),
    _cube_case("ra-360", _cube(), _with("ra", 2, 360.0), "'ra' is 360.0 at row 2"),
    _cube_case("ra-negative", _cube(), _with("ra", 5, -1.5), "'ra' is -1.5 at row 5"),
    _cube_case("dec-below-90", _cube(), _with("dec", 7, -91.0), "'dec' is -91.0"),
    _cube_case("dec-nan", _cube(), _with("dec", 0, np.nan), "'dec' is nan at row 0"),
    _cube_case("ra-inf", _cube(), _with("ra", 1, np.inf), "'ra' is inf at row 1"),
    Case("ra-text", _text_ra, "'north' at row 1", ("--catalog", "{tmp}/cat.csv")),
    Case("missing-id", _missing_id, "row 2", ("--catalog", "{tmp}/cat.csv")),
]


@pytest.mark.parametrize("case", FAILING, ids=[c.name for c in FAILING])
def test_a_bad_survey_is_one_clear_error_and_no_store(
    case: Case, tmp_path, latentsky_cli, one_line_error
):
    src = case.make(tmp_path)
    out = tmp_path / "out"
    extra = [a.replace("{tmp}", str(tmp_path)) for a in case.extra]
    result = latentsky_cli("ingest", src, out, "--no-progress", *extra)
    one_line_error(result, "ingest", case.message)
    assert not out.exists()
    assert not list(tmp_path.glob(".out.building-*"))


def test_a_bad_survey_with_overwrite_leaves_the_old_store(
    small_store, tmp_path, latentsky_cli, one_line_error, tree_hash
):
    store = tmp_path / "store"
    shutil.copytree(small_store, store)
    before = tree_hash(store)
    result = latentsky_cli("ingest", _truncated(tmp_path), store, "--overwrite")
    one_line_error(result, "ingest", "truncated")
    assert tree_hash(store) == before


def _read_back(root: Path) -> tuple[np.ndarray, pd.DataFrame]:
    from explorer.store import Store

    store = Store.open(root)
    return np.asarray(store.cutouts[:]), store.catalog


def _ingest_ok(latentsky_cli, src: Path, out: Path) -> tuple[np.ndarray, pd.DataFrame]:
    result = latentsky_cli("ingest", src, out, "--no-progress")
    assert result.code == 0, result.stderr
    assert "Traceback" not in result.stderr
    return _read_back(out)


def test_nan_and_inf_pixels_are_filled_and_counted(tmp_path, latentsky_cli):
    cube = _cube()
    cube[0, 0, 0, :3] = np.nan
    cube[3, 1, 2, 2] = np.inf
    cube[3, 0, 4, 4] = -np.inf
    cube[5, 1] = np.nan  # a whole band: filled with 0
    pixels, catalog = _ingest_ok(
        latentsky_cli, _write(tmp_path / "nan.fits", cube, _table()), tmp_path / "s"
    )
    assert np.isfinite(pixels).all()
    expected = np.zeros(N, np.int32)
    expected[[0, 3, 5]] = [3, 2, 64]
    np.testing.assert_array_equal(catalog["n_masked"], expected)
    np.testing.assert_array_equal(pixels[5, 1], 0.0)
    keep = np.isfinite(cube)
    np.testing.assert_array_equal(pixels[keep], cube[keep])


@pytest.mark.parametrize("dtype", [">i2", "<i4", ">f4", ">f8", "u1"])
def test_integer_and_big_endian_cubes_ingest_with_their_values(
    dtype, tmp_path, latentsky_cli
):
    cube = np.clip(_cube(), 0 if dtype == "u1" else -3e4, 250).astype(dtype)
    pixels, _ = _ingest_ok(
        latentsky_cli, _write(tmp_path / "c.fits", cube, _table()), tmp_path / "s"
    )
    assert pixels.dtype == np.float32
    np.testing.assert_array_equal(pixels, cube.astype(np.float32))


def test_unicode_and_huge_strings_are_kept(tmp_path, latentsky_cli):
    names = [f"galaxié-{i}-天体-🌌" for i in range(N)]
    huge = "x" * 200_000
    catalog = pd.DataFrame(
        {
            "id": names,
            "ra": np.linspace(1, 2, N),
            "dec": np.linspace(-1, 1, N),
            "comment": [huge] * N,
        }
    )
    (tmp_path / "cat.csv").write_text(catalog.to_csv(index=False), encoding="utf-8")
    src = _write(tmp_path / "c.fits", _cube(), None)
    result = latentsky_cli(
        "ingest", src, tmp_path / "s", "--catalog", tmp_path / "cat.csv"
    )
    assert result.code == 0, result.stderr
    _, table = _read_back(tmp_path / "s")
    assert table["name"].tolist() == names
    np.testing.assert_array_equal(table["id"], np.arange(N))
    assert (table["comment"] == huge).all()


# Path.exists() raises OSError ENAMETOOLONG (it swallows only ENOENT & co.)


@pytest.mark.parametrize(
    "command",
    [
        "ingest",
        "info",
    ],
)
def test_a_huge_path_is_one_clear_error(
    command, tmp_path, latentsky_cli, one_line_error
):
    long_name = tmp_path / ("d" * 5000)
    argv = (
        [long_name / "c.fits", tmp_path / "s"] if command == "ingest" else [long_name]
    )
    result = latentsky_cli(command, *argv)
    one_line_error(result, command, "name too long")


OPTIONS = [
    (("embed", "s", "--checkpoint", "c.pt", "--version", "v", "--batch-size", "-1"),
     "--batch-size"),
    (("train", "s", "--out", "c.pt", "--layers", "a,b"), "--layers"),
    (("serve", "s", "--port", "99999"), "--port"),
    (("diff", "s", "v1", "v2", "--k", "0"), "--k"),
    (("export", "s", "--ids", "1,x", "--out", "o.csv"), "--ids"),
    (("ingest", "a.fits", "s", "--chunk", "nan"), "--chunk"),
    (("embed", "s", "--checkpoint", "c.pt", "--version", "v", "--workers", "-3"),
     "--workers"),
    (("serve", "s", "--session-timeout", "inf"), "--session-timeout"),
]  # fmt: skip


@pytest.mark.parametrize("argv,option", OPTIONS, ids=[a[0] for a, _ in OPTIONS])
def test_a_bad_option_value_is_one_clear_error(
    argv, option, tmp_path, latentsky_cli, one_line_error
):
    result = latentsky_cli(*argv)
    one_line_error(result, argv[0], option)
