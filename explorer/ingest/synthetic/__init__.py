"""A synthetic multi-band (g, r, z) imaging survey for demos, tests and benchmarks.

Every source is drawn from :mod:`astropy.modeling` profiles, evaluated in
vectorised batches (the models' ``evaluate`` methods broadcast over a whole
batch of parameter sets at once, which is what makes 20 000 cutouts take
seconds rather than minutes):

==================  ========================================================
kind                what it looks like
==================  ========================================================
``elliptical``      red de Vaucouleurs-like :class:`~astropy.modeling.
                    functional_models.Sersic2D` (n = 3-5.5), smooth
``disc``            red Sersic bulge + blue exponential disc, half of them
                    with two blue logarithmic spiral arms; some edge-on
``star``            a point source (Moffat PSF) on the stellar colour locus
``red_quasar``      a point source much redder in g-r than any star
                    (high-redshift-quasar-like g dropout)
``merger``          two overlapping galaxies with curved blue tidal tails
``ring``            collisional ring galaxy: knotty blue :class:`Ring2D`
                    ring around an offset red nucleus (rare)
``lens_arc``        bright red elliptical with a blue gravitational arc
                    (and often a counter-image) at the Einstein radius (rare)
``satellite_trail`` an ordinary source crossed by a straight trail that is
                    present in one band only (rare artefact)
==================  ========================================================

Every cutout also holds faint background galaxies and stars, is convolved with
a per-cutout, per-band Moffat PSF (seeing worse in g, better in z), and gets
sky noise plus source (Poisson-like) noise. Pixel values are in nanomaggies
(magnitude = 22.5 - 2.5 log10 flux). The kind of each source is stored only
in the hidden catalogue column ``_truth_label`` (for evaluation).

Sky positions fall in a 4 x 4 deg patch: galaxies partly in Gaussian clumps
(ellipticals and lenses most strongly clustered, like galaxy clusters), stars
and artefacts uniformly.

The package is split by job, each module depending only on those above it:

- :mod:`~explorer.ingest.synthetic.photometry`: bands, zero point, fluxes;
- :mod:`~explorer.ingest.synthetic.optics`: pixel scale, Moffat PSF, sky and
  source noise;
- :mod:`~explorer.ingest.synthetic.canvas`: the pre-PSF drawing surface;
- :mod:`~explorer.ingest.synthetic.kinds`: the mix of kinds and one renderer
  per kind;
- :mod:`~explorer.ingest.synthetic.survey`: sky positions, batches and the
  catalogue (:func:`iter_survey`, :func:`make_cutouts`);
- :mod:`~explorer.ingest.synthetic.writing`: :func:`write_demo_survey`.
"""

from __future__ import annotations

from explorer.ingest.synthetic.kinds import KIND_FRACTIONS, KINDS, RARE_KINDS
from explorer.ingest.synthetic.optics import (
    INV_GAIN,
    MOFFAT_ALPHA,
    PIXEL_SCALE_64,
    SEEING_R,
    SEEING_RATIO,
    SKY_SIGMA,
)
from explorer.ingest.synthetic.photometry import BANDS, ZEROPOINT
from explorer.ingest.synthetic.survey import (
    BATCH,
    PATCH_CENTER,
    PATCH_SIDE,
    iter_survey,
    make_cutouts,
)
from explorer.ingest.synthetic.writing import write_demo_survey

__all__ = [
    "BANDS",
    "BATCH",
    "INV_GAIN",
    "KINDS",
    "KIND_FRACTIONS",
    "MOFFAT_ALPHA",
    "PATCH_CENTER",
    "PATCH_SIDE",
    "PIXEL_SCALE_64",
    "RARE_KINDS",
    "SEEING_R",
    "SEEING_RATIO",
    "SKY_SIGMA",
    "ZEROPOINT",
    "iter_survey",
    "make_cutouts",
    "write_demo_survey",
]
