"""Survey readers: turn survey files into a store, chunk by chunk.

Three inputs are understood (the kind is detected from the path), one reader
module each:

``fits-cube`` (:mod:`~explorer.ingest.fits_cube`)
    One FITS file holding an ``(N, bands, S, S)`` cube and a catalogue table.
``fits-dir`` (:mod:`~explorer.ingest.fits_dir`)
    A directory of per-source FITS files plus a catalogue file.
``hdf5`` (:mod:`~explorer.ingest.hdf5`)
    An HDF5 file in the Galaxy10-DECaLS layout.

Shared by every reader: :mod:`~explorer.ingest.catalog` (reading a catalogue
file; ids, ra/dec and names normalised to the store contract),
:mod:`~explorer.ingest.nanfill` (NaN/inf pixels replaced by the band median
of their cutout, counted in the ``n_masked`` column) and
:mod:`~explorer.ingest.core` (the :func:`ingest` dispatcher and the
:data:`~explorer.ingest.core.READERS` registry a new reader joins).
:mod:`~explorer.ingest.synthetic` writes the synthetic demo survey.

Every problem raises :class:`~explorer.errors.IngestError` naming the file;
the store is built in a temporary directory and published only on success,
so a failed ingest leaves an existing store untouched.
"""

from __future__ import annotations

from explorer.ingest.catalog import CATALOG_SUFFIXES, prepare_catalog, read_table_file
from explorer.ingest.core import (
    DEFAULT_CHUNK,
    READERS,
    detect_kind,
    ingest,
    open_survey,
)
from explorer.ingest.fits_common import FITS_SUFFIXES
from explorer.ingest.hdf5 import HDF5_SUFFIXES
from explorer.ingest.nanfill import fill_nonfinite
from explorer.ingest.survey import Survey

__all__ = [
    "CATALOG_SUFFIXES",
    "DEFAULT_CHUNK",
    "FITS_SUFFIXES",
    "HDF5_SUFFIXES",
    "READERS",
    "Survey",
    "detect_kind",
    "fill_nonfinite",
    "ingest",
    "open_survey",
    "prepare_catalog",
    "read_table_file",
]
