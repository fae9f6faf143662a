"""Survey readers: turn survey files into a store, chunk by chunk.

Three inputs are understood (the kind is detected from the path):

``fits-cube``
    One FITS file whose primary HDU (or first image extension) is a cube
    ``(N, bands, S, S)`` (or ``(N, S, S)``, one band) and whose first binary
    table (preferably ``EXTNAME = CATALOG``) holds ``id``, ``ra``, ``dec`` and
    any other columns, one row per cutout. Band names come from the header
    keyword ``BANDS`` (comma separated) or ``BAND1``, ``BAND2``...; otherwise
    ``b0``, ``b1``... The cube is read through ``HDU.section`` (a seek and a
    read of one chunk at a time, no memory map), so memory use does not grow
    with the survey.
``fits-dir``
    A directory of per-source FITS files (``*.fits``, ``*.fit``,
    ``*.fits.gz``), each either one ``(bands, S, S)`` cube or one 2-D image
    HDU per band, plus a catalogue (``--catalog`` CSV / FITS / Parquet, or a
    ``catalog.csv|fits|parquet`` inside the directory). A ``file`` /
    ``filename`` / ``path`` column names each row's file; otherwise a file's
    stem must equal the row's ``id`` (or ``name``).
``hdf5``
    An HDF5 file in the Galaxy10-DECaLS layout: ``images`` ``(N, S, S, 3)``
    uint8 (scaled to float32 in [0, 1]), ``ra``, ``dec`` and optional ``ans``
    labels; every 1-D dataset of length ``N`` becomes a catalogue column.
    Three channels are named ``g, r, z``.

Catalogue rules: ``id``/``ra``/``dec`` are matched case-insensitively; a
missing ``id`` column gets ids ``0..N-1``; non-integer (e.g. string) ids are
kept in a ``name`` column and replaced by integer ids ``0..N-1``.

NaN/inf pixels are not propagated: each is replaced by the median of the
finite pixels of the same band of the same cutout (0 when the band has none),
and the number replaced per source is the catalogue column ``n_masked``.

Every problem raises :class:`~explorer.errors.IngestError` naming the file;
the store is built in a temporary directory and published only on success,
so a failed ingest leaves an existing store untouched.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from explorer.errors import IngestError, LatentskyError
from explorer.store import Store, validate_catalog

log = logging.getLogger(__name__)

DEFAULT_CHUNK = 1024
FITS_SUFFIXES = (".fits", ".fit", ".fts", ".fits.gz", ".fit.gz", ".fz")
HDF5_SUFFIXES = (".h5", ".hdf5", ".hdf", ".he5")
CATALOG_SUFFIXES = (".csv", ".fits", ".fit", ".parquet")
_FITS_MAGIC = b"SIMPLE  ="
_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
_GZIP_MAGIC = b"\x1f\x8b"
_ALIASES = {
    "id": ("id", "objid", "object_id", "source_id"),
    "ra": ("ra", "ra_deg", "raj2000"),
    "dec": ("dec", "dec_deg", "dej2000", "decj2000"),
}
_FILE_COLUMNS = ("file", "filename", "path")


@dataclass
class Survey:
    """An opened survey: geometry, catalogue and a reader of cutout rows.

    Attributes
    ----------
    path : pathlib.Path
        The survey file or directory.
    kind : str
        ``"fits-cube"``, ``"fits-dir"`` or ``"hdf5"``.
    bands : list of str
        Band names in channel order.
    size : int
        Cutout side ``S`` in pixels.
    catalog : DataFrame
        Raw catalogue, one row per cutout, in cutout order.
    read : callable
        ``read(start, stop)`` -> ``(stop - start, bands, S, S)`` array of
        rows ``start..stop-1`` (may hold NaN/inf).
    """

    path: Path
    kind: str
    bands: list[str]
    size: int
    catalog: pd.DataFrame
    read: Callable[[int, int], np.ndarray]
    _close: list[Callable[[], None]] = field(default_factory=list)

    @property
    def n(self) -> int:
        """Number of cutouts."""
        return len(self.catalog)

    def close(self) -> None:
        """Release open files."""
        for close in self._close:
            close()


# ---------------------------------------------------------------- public
def ingest(
    src: str | os.PathLike[str],
    store_root: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    catalog: str | os.PathLike[str] | None = None,
    chunk: int = DEFAULT_CHUNK,
    progress: bool = True,
) -> Store:
    """Read a survey into a new store at ``store_root``.

    Parameters
    ----------
    src : path-like
        FITS cube file, directory of FITS cutouts, or Galaxy10-style HDF5.
    store_root : path-like
        Store directory to create (must not exist, be empty, or be a store
        with ``overwrite=True``).
    overwrite : bool
        Replace an existing store (only once the new one is complete).
    catalog : path-like, optional
        Catalogue file (CSV, FITS table or Parquet) for a directory of
        cutouts, or to replace the table of a FITS cube.
    chunk : int
        Sources read and written per step (memory ~ chunk x bands x S^2 x 4 B).
    progress : bool
        Show a tqdm progress bar.

    Returns
    -------
    Store
        The opened new store.

    Raises
    ------
    IngestError
        If the input is missing, unreadable, of an unknown type, empty, or
        inconsistent (message names the file and the problem).
    StoreError
        If ``store_root`` exists and is not a store, or is a store and
        ``overwrite`` is false.
    """
    from tqdm.auto import tqdm

    if chunk < 1:
        msg = f"chunk must be >= 1, got {chunk}"
        raise IngestError(msg)
    src = Path(src)
    started = time.perf_counter()
    with contextlib.closing(open_survey(src, catalog=catalog)) as survey:
        where = str(survey.path)
        table = prepare_catalog(survey.catalog, where)
        builder = Store.build(
            store_root, survey.bands, survey.size, overwrite=overwrite, source=where
        )
        with (
            builder,
            tqdm(
                total=survey.n,
                unit="src",
                desc=f"ingest {src.name}",
                disable=not progress,
            ) as bar,
        ):
            for start in range(0, survey.n, chunk):
                stop = min(start + chunk, survey.n)
                block, n_masked = fill_nonfinite(survey.read(start, stop))
                part = table.iloc[start:stop].copy()
                part["n_masked"] = n_masked
                builder.append(block, part)
                bar.update(stop - start)
    store = builder.store
    assert store is not None
    elapsed = time.perf_counter() - started
    log.info(
        "ingested %d sources from %s into %s in %.1f s (%.0f sources/s)",
        store.n_sources,
        src,
        store.root,
        elapsed,
        store.n_sources / max(elapsed, 1e-9),
    )
    return store


def detect_kind(src: Path) -> str:
    """``"fits-cube"``, ``"fits-dir"`` or ``"hdf5"`` for ``src``.

    Raises
    ------
    IngestError
        If ``src`` does not exist or is of no known type.
    """
    if not src.exists():
        msg = f"{src} does not exist"
        raise IngestError(msg)
    if src.is_dir():
        return "fits-dir"
    try:
        with open(src, "rb") as fh:
            head = fh.read(16)
    except OSError as exc:
        msg = f"{src}: cannot read: {exc.strerror or exc}"
        raise IngestError(msg) from exc
    name = src.name.lower()
    if head.startswith(_HDF5_MAGIC) or name.endswith(HDF5_SUFFIXES):
        return "hdf5"
    if head.startswith((_FITS_MAGIC, _GZIP_MAGIC)) or name.endswith(FITS_SUFFIXES):
        return "fits-cube"
    msg = (
        f"{src}: unknown source type (expected a FITS cube {FITS_SUFFIXES[:2]}, "
        f"an HDF5 file {HDF5_SUFFIXES[:2]} or a directory of FITS cutouts)"
    )
    raise IngestError(msg)


def open_survey(src: Path, *, catalog: str | os.PathLike[str] | None = None) -> Survey:
    """Open ``src`` for reading (headers and catalogue only, no pixels).

    Raises
    ------
    IngestError
        See :func:`ingest`.
    """
    kind = detect_kind(src)
    opener = {
        "fits-cube": _open_fits_cube,
        "fits-dir": _open_fits_dir,
        "hdf5": _open_hdf5,
    }
    survey = opener[kind](src, Path(catalog) if catalog is not None else None)
    if survey.n == 0:
        survey.close()
        msg = f"{src}: the input holds no cutouts"
        raise IngestError(msg)
    return survey


def prepare_catalog(raw: pd.DataFrame, where: str) -> pd.DataFrame:
    """Normalise a survey catalogue to the store contract.

    Renames ``id``/``ra``/``dec`` (case-insensitive, common aliases), adds ids
    ``0..N-1`` when missing, keeps non-integer ids as ``name``, decodes bytes,
    drops multi-dimensional columns, and validates.

    Parameters
    ----------
    raw : DataFrame
        One row per cutout, in cutout order.
    where : str
        File named in error messages.

    Returns
    -------
    DataFrame
        With int64 ``id`` (unique), float64 ``ra``, ``dec`` (degrees).

    Raises
    ------
    IngestError
        Missing ``ra``/``dec``, duplicate ids, or ra/dec out of range.
    """
    df = raw.reset_index(drop=True).copy()
    lower = {str(c).lower(): c for c in df.columns}
    renames = {}
    for target, aliases in _ALIASES.items():
        if target in df.columns:
            continue
        for alias in aliases:
            if alias in lower:
                renames[lower[alias]] = target
                break
    df = df.rename(columns=renames)
    for col in ("ra", "dec"):
        if col not in df.columns:
            msg = (
                f"{where}: catalogue has no {col!r} column "
                f"(columns: {', '.join(map(str, df.columns)) or 'none'})"
            )
            raise IngestError(msg)
    for col in df.columns:
        if df[col].dtype == object and len(df) and isinstance(df[col].iloc[0], bytes):
            df[col] = df[col].str.decode("utf-8", errors="replace").str.strip()
    if "id" not in df.columns:
        log.info("%s: no id column; assigning ids 0..%d", where, len(df) - 1)
        df.insert(0, "id", np.arange(len(df), dtype=np.int64))
    ids = df["id"]
    dup = ids[ids.duplicated()]
    if len(dup):
        msg = f"{where}: duplicate source ids {dup.unique()[:5].tolist()}"
        raise IngestError(msg)
    if not _is_integral(ids):
        name_col = "name" if "name" not in df.columns else "source_name"
        log.info(
            "%s: ids are not integers; kept as %r, new ids 0..N-1", where, name_col
        )
        df[name_col] = ids.astype(str)
        df["id"] = np.arange(len(df), dtype=np.int64)
    df["id"] = df["id"].astype(np.int64)
    for col in ("ra", "dec"):
        df[col] = pd.to_numeric(df[col], errors="coerce").astype(np.float64)
    try:
        validate_catalog(df, where)
    except LatentskyError as exc:
        raise IngestError(str(exc)) from exc
    return df


def _is_integral(ids: pd.Series) -> bool:
    if pd.api.types.is_integer_dtype(ids):
        return True
    if pd.api.types.is_float_dtype(ids):
        values = ids.to_numpy()
        return bool(np.isfinite(values).all() and (values == np.round(values)).all())
    return False


def fill_nonfinite(block: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Replace NaN/inf pixels by the median of the finite ones, per cutout and band.

    Parameters
    ----------
    block : ndarray
        ``(n, bands, S, S)`` pixels (any real dtype).

    Returns
    -------
    filled : ndarray
        ``(n, bands, S, S)`` finite float32 (a new array).
    n_masked : ndarray
        ``(n,)`` int32 number of pixels replaced in each cutout.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        filled = np.array(block, dtype=np.float32)
    bad = ~np.isfinite(filled)
    n_masked = bad.sum(axis=(1, 2, 3)).astype(np.int32)
    rows = np.flatnonzero(n_masked)
    if len(rows):
        sub = np.where(bad[rows], np.nan, filled[rows])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN bands
            median = np.nanmedian(sub, axis=(2, 3))
        median = np.nan_to_num(median, nan=0.0).astype(np.float32)
        filled[rows] = np.where(bad[rows], median[:, :, None, None], sub)
    return filled, n_masked


# ------------------------------------------------------------- FITS cube
@contextlib.contextmanager
def _fits_errors(path: Path) -> Iterator[None]:
    """Turn astropy's errors on unreadable files into IngestError."""
    try:
        yield
    except LatentskyError:
        raise
    except (OSError, ValueError, TypeError, KeyError, IndexError, EOFError) as exc:
        msg = f"{path}: not a readable FITS file ({type(exc).__name__}: {exc})"
        raise IngestError(msg) from exc


def _open_fits(path: Path):
    """``fits.open`` that raises IngestError for corrupt or truncated files."""
    from astropy.io import fits

    with _fits_errors(path), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        hdul = fits.open(path, memmap=False, lazy_load_hdus=False)
    for w in caught:
        text = str(w.message)
        if "truncated" in text.lower():
            hdul.close()
            msg = f"{path}: FITS file is truncated ({text})"
            raise IngestError(msg)
        log.warning("%s: %s", path, text)
    if not len(hdul):
        hdul.close()
        msg = f"{path}: FITS file has no HDUs"
        raise IngestError(msg)
    return hdul


def _image_hdu(hdul, path: Path):
    """The first HDU holding an image of rank >= 3 (the cutout cube)."""
    from astropy.io import fits

    for hdu in hdul:
        if isinstance(hdu, fits.BinTableHDU | fits.TableHDU):
            continue
        if hdu.header.get("NAXIS", 0) >= 1 and hdu.shape:
            return hdu
    msg = f"{path}: no image HDU with cutouts"
    raise IngestError(msg)


def _band_names(header, n_bands: int, path: Path) -> list[str]:
    """Band names from ``BANDS`` or ``BAND1..`` keywords, else ``b0..``."""
    if "BANDS" in header:
        names = [b.strip() for b in str(header["BANDS"]).split(",") if b.strip()]
        if len(names) != n_bands:
            msg = (
                f"{path}: header BANDS={header['BANDS']!r} names {len(names)} "
                f"bands, cube has {n_bands}"
            )
            raise IngestError(msg)
        return names
    names = [str(header.get(f"BAND{i}", "")).strip() for i in range(1, n_bands + 1)]
    if all(names) and len(set(names)) == n_bands:
        return names
    if n_bands == 1:
        single = str(header.get("FILTER", header.get("BAND", ""))).strip()
        if single:
            return [single]
    return [f"b{i}" for i in range(n_bands)]


def _cube_geometry(shape: tuple[int, ...], path: Path) -> tuple[int, int, int]:
    """``(N, bands, S)`` of a cutout cube, or IngestError."""
    if len(shape) == 3:
        n, b, (h, w) = shape[0], 1, shape[1:]
    elif len(shape) == 4:
        n, b, h, w = shape
    else:
        msg = (
            f"{path}: image cube has rank {len(shape)} (shape {shape}); expected "
            "(N, bands, S, S) or (N, S, S)"
        )
        raise IngestError(msg)
    if h != w:
        msg = f"{path}: cutouts are {h}x{w} pixels, not square"
        raise IngestError(msg)
    return n, b, h


def _read_table_file(path: Path) -> pd.DataFrame:
    """A catalogue from CSV, Parquet or the first FITS table."""
    if not path.exists():
        msg = f"catalogue {path} does not exist"
        raise IngestError(msg)
    name = path.name.lower()
    try:
        if name.endswith(".csv"):
            return pd.read_csv(path)
        if name.endswith(".parquet"):
            return pd.read_parquet(path)
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        msg = f"catalogue {path}: cannot read ({type(exc).__name__}: {exc})"
        raise IngestError(msg) from exc
    if name.endswith((".fits", ".fit", ".fits.gz")):
        hdul = _open_fits(path)
        try:
            table = _fits_table(hdul, path)
        finally:
            hdul.close()
        if table is None:
            msg = f"catalogue {path}: FITS file has no table HDU"
            raise IngestError(msg)
        return table
    msg = f"catalogue {path}: unknown format (use {', '.join(CATALOG_SUFFIXES)})"
    raise IngestError(msg)


def _fits_table(hdul, path: Path) -> pd.DataFrame | None:
    """The ``CATALOG`` (or first) table HDU as a DataFrame, or None."""
    from astropy.io import fits
    from astropy.table import Table

    tables = [h for h in hdul if isinstance(h, fits.BinTableHDU | fits.TableHDU)]
    if not tables:
        return None
    named = [h for h in tables if h.name.upper() == "CATALOG"]
    hdu = (named or tables)[0]
    with _fits_errors(path):
        table = Table(hdu.data, copy=False) if hdu.data is not None else Table()
        multi = [c for c in table.colnames if table[c].ndim > 1]
        if multi:
            log.warning("%s: dropping multi-dimensional columns %s", path, multi)
            table.remove_columns(multi)
        return table.to_pandas()


def _open_fits_cube(path: Path, catalog: Path | None) -> Survey:
    hdul = _open_fits(path)
    try:
        hdu = _image_hdu(hdul, path)
        n, n_bands, size = _cube_geometry(tuple(hdu.shape), path)
        info = hdu.fileinfo()
        if info and info.get("datLoc") is not None:
            expected = info["datLoc"] + hdu.size  # size is in bytes
            if path.stat().st_size < expected and not path.name.endswith(".gz"):
                msg = (
                    f"{path}: FITS file is truncated ({path.stat().st_size} "
                    f"bytes, data needs {expected})"
                )
                raise IngestError(msg)
        bands = _band_names(hdu.header, n_bands, path)
        table = (
            _read_table_file(catalog)
            if catalog is not None
            else _fits_table(hdul, path)
        )
        if table is None:
            msg = f"{path}: no catalogue table HDU with id/ra/dec (or pass --catalog)"
            raise IngestError(msg)
        if len(table) != n:
            where = catalog or path
            msg = (
                f"{where}: catalogue has {len(table)} rows but {path} holds {n} cutouts"
            )
            raise IngestError(msg)
        section = hdu.section

        def read(start: int, stop: int) -> np.ndarray:
            with _fits_errors(path):
                block = np.asarray(section[start:stop])
            return block.reshape(stop - start, n_bands, size, size)

        return Survey(path, "fits-cube", bands, size, table, read, [hdul.close])
    except BaseException:
        hdul.close()
        raise


# -------------------------------------------------------- FITS directory
def _find_catalog(directory: Path) -> Path:
    for suffix in CATALOG_SUFFIXES:
        candidate = directory / f"catalog{suffix}"
        if candidate.exists():
            return candidate
    msg = (
        f"{directory}: a directory of cutouts needs a catalogue with ra/dec: pass "
        "--catalog or put catalog.csv / catalog.fits / catalog.parquet in it"
    )
    raise IngestError(msg)


def _cutout_files(directory: Path, catalog: Path) -> list[Path]:
    files = sorted(
        p
        for p in directory.iterdir()
        if p.is_file()
        and p.name.lower().endswith(FITS_SUFFIXES)
        and p.resolve() != catalog.resolve()
    )
    return files


def _match_files(
    table: pd.DataFrame, files: list[Path], directory: Path, where: str
) -> list[Path]:
    """The file of each catalogue row, in row order."""
    lower = {str(c).lower(): c for c in table.columns}
    link = next((lower[c] for c in _FILE_COLUMNS if c in lower), None)
    if link is not None:
        paths = [directory / str(v).strip() for v in table[link]]
        for row, p in enumerate(paths):
            if not p.is_file():
                msg = f"{where}: row {row} names file {p.name!r}, not in {directory}"
                raise IngestError(msg)
        return paths
    by_stem = {p.name.split(".")[0]: p for p in files}
    key = next((lower[c] for c in ("id", "name", "objid") if c in lower), None)
    if key is None:
        msg = f"{where}: catalogue needs a 'file' column or ids that match file names"
        raise IngestError(msg)
    paths = []
    for value in table[key]:
        stem = str(value).strip()
        if stem not in by_stem:
            msg = (
                f"{where}: no cutout file named {stem}.fits in {directory} "
                f"for {key}={value!r}"
            )
            raise IngestError(msg)
        paths.append(by_stem[stem])
    return paths


def _read_cutout_file(path: Path) -> tuple[np.ndarray, list[str]]:
    """``(bands, S, S)`` pixels and band names of one per-source FITS file."""
    hdul = _open_fits(path)
    try:
        with _fits_errors(path):
            images = [h for h in hdul if h.is_image and h.header.get("NAXIS", 0) >= 2]
            if not images:
                msg = f"{path}: no image HDU"
                raise IngestError(msg)
            if len(images) == 1 and images[0].header["NAXIS"] == 3:
                data = np.asarray(images[0].data)
                names = _band_names(images[0].header, data.shape[0], path)
            elif all(h.header["NAXIS"] == 2 for h in images):
                shapes = {h.data.shape for h in images}
                if len(shapes) > 1:
                    msg = f"{path}: band images have different shapes {sorted(shapes)}"
                    raise IngestError(msg)
                data = np.stack([np.asarray(h.data) for h in images])
                names = []
                for i, h in enumerate(images):
                    hdr = h.header
                    name = hdr.get(
                        "BAND", hdr.get("FILTER", h.name if h.name != "PRIMARY" else "")
                    )
                    names.append(str(name).strip() or f"b{i}")
                if len(set(names)) != len(names):
                    names = [f"b{i}" for i in range(len(images))]
            else:
                dims = [h.header["NAXIS"] for h in images]
                msg = (
                    f"{path}: expected one (bands, S, S) cube or 2-D band "
                    f"images, found image ranks {dims}"
                )
                raise IngestError(msg)
    finally:
        hdul.close()
    if data.shape[-1] != data.shape[-2]:
        msg = f"{path}: cutout is {data.shape[-2]}x{data.shape[-1]} pixels, not square"
        raise IngestError(msg)
    return data, names


def _open_fits_dir(directory: Path, catalog: Path | None) -> Survey:
    catalog = catalog or _find_catalog(directory)
    table = _read_table_file(catalog)
    files = _cutout_files(directory, catalog)
    if not files:
        msg = f"{directory}: no FITS cutouts (*.fits) in the directory"
        raise IngestError(msg)
    if len(table) != len(files):
        msg = (
            f"{catalog}: catalogue has {len(table)} rows but {directory} "
            f"holds {len(files)} FITS cutouts"
        )
        raise IngestError(msg)
    paths = _match_files(table, files, directory, str(catalog))
    first, bands = _read_cutout_file(paths[0])
    size = first.shape[-1]

    def read(start: int, stop: int) -> np.ndarray:
        block = np.empty((stop - start, len(bands), size, size), dtype=np.float32)
        for i, path in enumerate(paths[start:stop]):
            data, _ = _read_cutout_file(path)
            if data.shape[-2:] != (size, size):
                msg = (
                    f"{path}: mixed cutout sizes: {data.shape[-2]}x{data.shape[-1]} px "
                    f"but {paths[0].name} is {size}x{size}"
                )
                raise IngestError(msg)
            if data.shape[0] != len(bands):
                msg = (
                    f"{path}: has {data.shape[0]} bands but {paths[0].name} "
                    f"has {len(bands)}"
                )
                raise IngestError(msg)
            with np.errstate(over="ignore", invalid="ignore"):
                block[i] = data
        return block

    return Survey(directory, "fits-dir", bands, size, table, read)


# ------------------------------------------------------------------ HDF5
def _open_hdf5(path: Path, catalog: Path | None) -> Survey:
    import h5py

    try:
        h5 = h5py.File(path, "r")
    except OSError as exc:
        msg = f"{path}: not a readable HDF5 file ({exc})"
        raise IngestError(msg) from exc
    try:
        if "images" not in h5:
            msg = f"{path}: HDF5 file has no 'images' dataset (Galaxy10-DECaLS layout)"
            raise IngestError(msg)
        images = h5["images"]
        shape = tuple(images.shape)
        if len(shape) == 3:
            channels_last, n_bands = True, 1
            shape = (*shape, 1)
        elif len(shape) == 4:
            channels_last = shape[1] == shape[2] or shape[2] != shape[3]
            n_bands = shape[3] if channels_last else shape[1]
        else:
            msg = (
                f"{path}: 'images' has rank {len(shape)} (shape {shape}); "
                "expected (N, S, S, bands)"
            )
            raise IngestError(msg)
        h, w = (shape[1], shape[2]) if channels_last else (shape[2], shape[3])
        if h != w:
            msg = f"{path}: cutouts are {h}x{w} pixels, not square"
            raise IngestError(msg)
        n = shape[0]
        if catalog is not None:
            table = _read_table_file(catalog)
        else:
            columns = {
                name: _decode(ds[()])
                for name, ds in h5.items()
                if isinstance(ds, h5py.Dataset) and ds.ndim == 1 and ds.shape[0] == n
            }
            table = pd.DataFrame(columns)
        if len(table) != n:
            msg = (
                f"{catalog or path}: catalogue has {len(table)} rows but "
                f"{path} holds {n} images"
            )
            raise IngestError(msg)
        attr_bands = images.attrs.get("bands")
        if attr_bands is not None and len(attr_bands) == n_bands:
            bands = [b.decode() if isinstance(b, bytes) else str(b) for b in attr_bands]
        elif n_bands == 3:
            bands = ["g", "r", "z"]
        else:
            bands = [f"b{i}" for i in range(n_bands)]
        scale = 1 / 255 if images.dtype == np.uint8 else 1.0

        def read(start: int, stop: int) -> np.ndarray:
            try:
                block = images[start:stop]
            except OSError as exc:
                msg = f"{path}: cannot read images {start}..{stop - 1} ({exc})"
                raise IngestError(msg) from exc
            block = block.reshape(stop - start, *shape[1:]).astype(
                np.float32
            ) * np.float32(scale)
            return block.transpose(0, 3, 1, 2) if channels_last else block

        return Survey(path, "hdf5", bands, h, table, read, [h5.close])
    except BaseException:
        h5.close()
        raise


def _decode(values: np.ndarray) -> np.ndarray:
    if values.dtype.kind == "S" or (
        values.dtype == object and len(values) and isinstance(values[0], bytes)
    ):
        return np.array(
            [v.decode("utf-8", errors="replace") for v in values], dtype=object
        )
    return values
