"""Kind -> renderer, and the detector-level steps of the artefact kinds."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from explorer.ingest.synthetic import artefacts, galaxies, pointlike
from explorer.ingest.synthetic.canvas import Canvas
from explorer.ingest.synthetic.kinds import KINDS
from explorer.ingest.synthetic.optics import Optics

#: Kind -> renderer adding its pre-PSF light and point sources to a canvas.
RENDERERS: dict[str, Callable[[Canvas], None]] = {
    "elliptical": galaxies.elliptical,
    "disc": galaxies.disc,
    "star": pointlike.star,
    "red_quasar": pointlike.red_quasar,
    "brown_dwarf": pointlike.brown_dwarf,
    "red_compact": galaxies.red_compact,
    "ring": galaxies.ring,
    "lens_arc": galaxies.lens_arc,
    "merger": galaxies.merger,
    "dust_lane": galaxies.dust_lane,
    "cosmic_ray": artefacts.base_source,
    "satellite_trail": artefacts.satellite_trail,
    "bad_column": artefacts.base_source,
    "bleed_trail": artefacts.bright_star,
}
Detector = Callable[[np.ndarray, Optics, np.random.Generator], None]
#: Kind -> in-place step on its ``(k, 3, S, S)`` cutouts before the noise.
BEFORE_NOISE: dict[str, Detector] = {"cosmic_ray": artefacts.cosmic_rays}
#: Kind -> in-place step on its ``(k, 3, S, S)`` cutouts after the noise.
AFTER_NOISE: dict[str, Detector] = {"bad_column": artefacts.bad_columns}

if set(RENDERERS) != set(KINDS):  # pragma: no cover - a programming error
    msg = f"renderers {sorted(RENDERERS)} do not match kinds {sorted(KINDS)}"
    raise RuntimeError(msg)
