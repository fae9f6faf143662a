"""The ``ingest()`` dispatcher: detect the input kind, open it, copy it into a store.

Every reader is a module with one ``open_<kind>(path, catalog) -> Survey``
function (see :mod:`explorer.ingest.survey`); :data:`READERS` maps the kind
name to it and :func:`detect_kind` recognises the kind from the path. A new
reader (for instance ``images.py``: survey images plus a catalogue, cut out
here) is one new module, one entry in :data:`READERS` and one rule in
:func:`detect_kind`; the copying, NaN filling and catalogue normalisation
below are shared by all readers.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from pathlib import Path

import pandas as pd

from explorer.errors import IngestError, StoreError
from explorer.ingest import fits_cube, fits_dir, hdf5
from explorer.ingest.catalog import prepare_catalog
from explorer.ingest.fits_common import FITS_SUFFIXES
from explorer.ingest.hdf5 import HDF5_SUFFIXES
from explorer.ingest.nanfill import fill_nonfinite
from explorer.ingest.survey import Opener, Survey
from explorer.store import Store, StoreBuilder
from explorer.store.builder import overwrite_losses

log = logging.getLogger(__name__)

DEFAULT_CHUNK = 1024
#: First bytes of a FITS file, of a gzip-compressed one and of an HDF5 file
#: (its superblock signature): trusted before the file name's suffix.
_FITS_MAGIC = b"SIMPLE  ="
_GZIP_MAGIC = b"\x1f\x8b"
_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"

#: Input kind -> the reader that opens it.
READERS: dict[str, Opener] = {
    fits_cube.KIND: fits_cube.open_fits_cube,
    fits_dir.KIND: fits_dir.open_fits_dir,
    hdf5.KIND: hdf5.open_hdf5,
}


def ingest(
    src: str | os.PathLike[str],
    store_root: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    force: bool = False,
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
    force : bool
        With ``overwrite``: also when the existing store holds embedding
        versions or annotations, which are lost (``--yes``).
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
        ``overwrite`` is false, or holds versions or annotations and
        ``force`` is false (the message says what would be lost).
    """
    if chunk < 1:
        msg = f"chunk must be >= 1, got {chunk}"
        raise IngestError(msg)
    if overwrite:
        check_losses(Path(store_root), force)
    src = Path(src)
    started = time.perf_counter()
    with contextlib.closing(open_survey(src, catalog=catalog)) as survey:
        table, builder = survey_builder(survey, store_root, overwrite=overwrite)
        with builder:
            _copy_rows(survey, table, builder, chunk, progress, f"ingest {src.name}")
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


def survey_builder(
    survey: Survey,
    store_root: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    kind: type[StoreBuilder] = StoreBuilder,
) -> tuple[pd.DataFrame, StoreBuilder]:
    """The normalised catalogue of an opened survey and the builder of its store.

    Shared by :func:`ingest` and :func:`explorer.distributed.ingest.ingest_on_dask`
    (which builds with its own ``kind``).

    Parameters
    ----------
    survey : Survey
        Opened survey (its path is recorded as the store's source).
    store_root : path-like
        Store directory to create.
    overwrite : bool
        Replace an existing store once the new one is complete.
    kind : type
        :class:`explorer.store.StoreBuilder` or a subclass.

    Returns
    -------
    (DataFrame, StoreBuilder)
        :func:`explorer.ingest.catalog.prepare_catalog`'s table, and the
        builder (not yet entered) for the survey's bands, size and pixel scale.

    Raises
    ------
    IngestError
        If the catalogue is unusable (the message names the survey).
    """
    where = str(survey.path)
    table = prepare_catalog(survey.catalog, where)
    builder = kind(
        store_root,
        survey.bands,
        survey.size,
        overwrite=overwrite,
        source=where,
        pixel_scale=survey.pixel_scale,
    )
    return table, builder


def check_losses(store_root: Path, force: bool) -> None:
    """Refuse (or, with ``force``, warn) when replacing ``store_root`` would
    drop its versions or annotations (also used by
    :mod:`explorer.distributed.ingest`)."""
    losses = overwrite_losses(store_root)
    if losses and not force:
        msg = f"store {store_root} has {losses}: add --yes to replace it"
        raise StoreError(msg)
    if losses:
        log.warning("replacing store %s drops its %s", store_root, losses)


_check_losses = check_losses  # the name explorer.ingest.images imports


def _copy_rows(
    survey: Survey,
    table: pd.DataFrame,
    builder: StoreBuilder,
    chunk: int,
    progress: bool,
    desc: str,
) -> None:
    """Append the survey to ``builder`` ``chunk`` rows at a time, NaN-filled."""
    from tqdm.auto import tqdm

    with tqdm(total=survey.n, unit="src", desc=desc, disable=not progress) as bar:
        for start in range(0, survey.n, chunk):
            stop = min(start + chunk, survey.n)
            block, n_masked = fill_nonfinite(survey.read(start, stop))
            part = table.iloc[start:stop].copy()
            part["n_masked"] = n_masked
            builder.append(block, part)
            bar.update(stop - start)


def detect_kind(src: Path) -> str:
    """The input kind of ``src``: a key of :data:`READERS`.

    Parameters
    ----------
    src : pathlib.Path
        Survey file or directory.

    Returns
    -------
    str
        ``"fits-cube"``, ``"fits-dir"`` or ``"hdf5"``.

    Raises
    ------
    IngestError
        If ``src`` does not exist or is of no known type.
    """
    try:
        exists = src.exists()
    except OSError as exc:  # e.g. a name longer than the file system allows
        msg = f"cannot read {str(src)[:200]!r}: {exc.strerror or exc}"
        raise IngestError(msg) from exc
    if not exists:
        msg = f"{src} does not exist"
        raise IngestError(msg)
    if src.is_dir():
        return fits_dir.KIND
    try:
        with open(src, "rb") as fh:
            head = fh.read(16)
    except OSError as exc:
        msg = f"{src}: cannot read: {exc.strerror or exc}"
        raise IngestError(msg) from exc
    name = src.name.lower()
    if head.startswith(_HDF5_MAGIC) or name.endswith(HDF5_SUFFIXES):
        return hdf5.KIND
    if head.startswith((_FITS_MAGIC, _GZIP_MAGIC)) or name.endswith(FITS_SUFFIXES):
        return fits_cube.KIND
    msg = (
        f"{src}: unknown source type (expected a FITS cube {FITS_SUFFIXES[:2]}, "
        f"an HDF5 file {HDF5_SUFFIXES[:2]} or a directory of FITS cutouts)"
    )
    raise IngestError(msg)


def open_survey(src: Path, *, catalog: str | os.PathLike[str] | None = None) -> Survey:
    """Open ``src`` for reading (headers and catalogue only, no pixels).

    Parameters
    ----------
    src : pathlib.Path
        Survey file or directory.
    catalog : path-like, optional
        Catalogue file, see :func:`ingest`.

    Returns
    -------
    Survey
        Opened; the caller closes it.

    Raises
    ------
    IngestError
        See :func:`ingest`; also if the input holds no cutouts.
    """
    kind = detect_kind(src)
    survey = READERS[kind](src, Path(catalog) if catalog is not None else None)
    if survey.n == 0:
        survey.close()
        msg = f"{src}: the input holds no cutouts"
        raise IngestError(msg)
    return survey
