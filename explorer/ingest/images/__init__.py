"""Survey images with a WCS -> cutouts centred on catalogued or detected sources.

Modules, one job each: :mod:`~.bands` (``NAME=FILE[HDU]`` specs, tile lists,
multi-extension files, memory-mapped section reads, WCS checks),
:mod:`~.catalog` (the source catalogue: formats and sky-coordinate checks),
:mod:`~.detect` (``sep`` detection and aperture fluxes), :mod:`~.placement`
(which tile holds each source), :mod:`~.cutouts` (cutting and resampling onto
the first band's grid), :mod:`~.pipeline` (:func:`ingest_images`) and
:mod:`~.hdf` (the Hubble Deep Field as three FITS bands with a made-up WCS).
"""

from __future__ import annotations

from explorer.ingest.images.detect import DetectionSettings
from explorer.ingest.images.pipeline import CutoutSettings, ImageIngest, ingest_images

__all__ = ["CutoutSettings", "DetectionSettings", "ImageIngest", "ingest_images"]
