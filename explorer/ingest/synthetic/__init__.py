"""A synthetic multi-band (g, r, z) imaging survey for demos, tests and benchmarks.

It is meant to be hard in the ways real surveys are: most sources are faint
(number counts rise to the detection limit), colours overlap where nature
overlaps them, every source has its own seeing in every band, a third of the
cutouts have neighbours (some blended), and rare kinds are rare and small.
The catalogue holds only what a detection pipeline measures; the kind of each
source is only in the hidden column ``_truth_label`` (for benchmarks).

Kinds and rates (:data:`KIND_FRACTIONS` is the single source of truth;
:data:`SCIENCE_KINDS`, :data:`ARTEFACT_KINDS`, :data:`RARE_KINDS`,
:data:`HZQ_LIKE_KINDS` group them):

===================  ========  =================================================
kind                 fraction  how it is drawn
===================  ========  =================================================
``elliptical``       26 %      Sersic n = 3-5.5, r = 16 to the limit; size
                               shrinks, g-r and r-z redden with magnitude
``disc``             35 %      bulge + exponential disc at random (isotropic)
                               inclination, 60 % of the less inclined ones
                               with two logarithmic spiral arms
``star``             21.3 %    Moffat point source on the stellar colour locus,
                               r = 16 to the limit (shallow counts)
``red_quasar``       4 %       high-z quasar: g-dropout point source plus a
                               faint (12-30 % of the light) extended host
``brown_dwarf``      4 %       bare point source with colours that overlap the
                               quasars' (g-r ~ 2.6, r-z ~ 2.2)
``red_compact``      4.5 %     z ~ 1 red galaxy, r_eff ~ 0.4", barely resolved,
                               colours overlapping both of the above
``ring``             0.65 %    knotty blue ring (r = 1.6-3.5") around an offset
                               red nucleus
``lens_arc``         0.65 %    r = 17-19.5 elliptical with a faint (r = 19.3-
                               21.3) blue arc at theta_E = 1.2-3" (+ counter-
                               image in 70 %)
``merger``           0.65 %    a close pair with two curved tidal tails, or
                               (40 %) a shell galaxy with interleaved shells
``dust_lane``        0.65 %    bright edge-on disc with a reddening dust lane
                               along its major axis
``cosmic_ray``       0.65 %    ordinary source + 1-3 sharp 1-8 px tracks of
                               15-300 sky sigma in exactly one band, not
                               convolved with the PSF
``satellite_trail``  0.65 %    ordinary source + a PSF-convolved straight trail
                               in 1 (60 %), 2 or 3 bands, each band its own
                               line, peak 3-150 sky sigma (log-uniform)
``bad_column``       0.65 %    ordinary source + a whole or partial column (1-2
                               px) of one band reading 5-40 sigma high or low
``bleed_trail``      0.65 %    r = 10.5-13 star: flat-topped saturated core and
                               the excess charge bled up and down its columns
===================  ========  =================================================

"Ordinary source" is an elliptical, disc or star drawn as above. Every cutout
also gets faint field galaxies 0-2.5 mag below the limit, and a share
``companion_rate`` gets 1-3 galaxies or stars at catalogue depth, about a
third of them within 2.5" of the centre (blends). Light is convolved with a
per-source, per-band Moffat PSF, then sky noise (``sky_sigma``, scaled to the
pixel), source (Poisson-like) noise and a small sky offset are added; pixels
above full well (:data:`SATURATION`) are clipped and bleed. Pixel values are
nanomaggies (AB magnitude = 22.5 - 2.5 log10 flux).

Catalogue columns (measured on the noisy cutouts, never from the kind):

- ``id``; ``ra``, ``dec`` (deg; galaxies partly in clumps, stars uniform);
- ``flux_g``, ``flux_r``, ``flux_z``: nanomaggies in a 1.5" radius aperture,
  corrected to total for a point source with that cutout's PSF (galaxies are
  underestimated, neighbours and artefacts add light, as in real aperture
  photometry; can be negative);
- ``mag_g``, ``mag_r``, ``mag_z``: AB magnitudes of those fluxes, or the
  one-sigma upper limit where the flux is below its error;
- ``size_r``: Gaussian-weighted (sigma 1.2") second-moment radius of the r
  image, arcsec, PSF included;
- ``psf_fwhm_r``: the r-band seeing FWHM of the source, arcsec;
- ``flags``: bits ``FLAG_SATURATED`` (1, saturated pixel within 2"),
  ``FLAG_BLENDED`` (2, detected neighbour within 2.5"), ``FLAG_EDGE`` (4,
  within 0.03 deg of the survey border).

Observing settings are a :class:`SurveySettings`; :data:`PRESETS` has
``demo`` (seeing 0.65-1.15", r limit 23, 64 px, seed 0) and ``second``
(seeing 0.9-1.6", Moffat beta 2.8, ~1.5x the sky noise, r limit 22.5, more
neighbours, 48 px, seed 1): choose methods on one, report on the other. The
same ``(n, size, seed, settings)`` gives identical output; generation streams
in batches of :data:`BATCH`, so memory does not grow with ``n``.

The package is split by job:

- :mod:`~explorer.ingest.synthetic.kinds`: the mix of kinds;
- :mod:`~explorer.ingest.synthetic.settings`: settings and presets;
- :mod:`~explorer.ingest.synthetic.photometry`: bands, zero point, counts;
- :mod:`~explorer.ingest.synthetic.optics`: pixel grid, PSF, noise;
- :mod:`~explorer.ingest.synthetic.canvas`: the pre-PSF drawing surface;
- :mod:`~explorer.ingest.synthetic.galaxies`,
  :mod:`~explorer.ingest.synthetic.pointlike`,
  :mod:`~explorer.ingest.synthetic.artefacts`: the renderers,
  registered in :mod:`~explorer.ingest.synthetic.renderers`;
- :mod:`~explorer.ingest.synthetic.neighbours`: companions and faint field;
- :mod:`~explorer.ingest.synthetic.measure`: the catalogue measurements;
- :mod:`~explorer.ingest.synthetic.survey`: :func:`iter_survey`,
  :func:`make_cutouts`;
- :mod:`~explorer.ingest.synthetic.writing`: :func:`write_demo_survey`.
"""

from __future__ import annotations

from explorer.ingest.synthetic.artefacts import COSMIC_RAY_SIGMA, TRAIL_PEAK_SIGMA
from explorer.ingest.synthetic.kinds import (
    ARTEFACT_KINDS,
    HZQ_LIKE_KINDS,
    KIND_FRACTIONS,
    KINDS,
    RARE_KINDS,
    SCIENCE_KINDS,
)
from explorer.ingest.synthetic.measure import (
    APERTURE_RADIUS,
    FLAG_BLENDED,
    FLAG_EDGE,
    FLAG_SATURATED,
    SIZE_WEIGHT_SIGMA,
)
from explorer.ingest.synthetic.optics import INV_GAIN, SATURATION, optics_for
from explorer.ingest.synthetic.photometry import BANDS, ZEROPOINT
from explorer.ingest.synthetic.settings import DEMO, PRESETS, SurveySettings, preset
from explorer.ingest.synthetic.survey import (
    BATCH,
    PATCH_CENTER,
    PATCH_SIDE,
    iter_survey,
    make_cutouts,
)
from explorer.ingest.synthetic.writing import write_demo_survey

__all__ = [
    "APERTURE_RADIUS",
    "ARTEFACT_KINDS",
    "BANDS",
    "BATCH",
    "COSMIC_RAY_SIGMA",
    "DEMO",
    "FLAG_BLENDED",
    "FLAG_EDGE",
    "FLAG_SATURATED",
    "HZQ_LIKE_KINDS",
    "INV_GAIN",
    "KINDS",
    "KIND_FRACTIONS",
    "PATCH_CENTER",
    "PATCH_SIDE",
    "PRESETS",
    "RARE_KINDS",
    "SATURATION",
    "SCIENCE_KINDS",
    "SIZE_WEIGHT_SIGMA",
    "SurveySettings",
    "TRAIL_PEAK_SIGMA",
    "ZEROPOINT",
    "iter_survey",
    "make_cutouts",
    "optics_for",
    "preset",
    "write_demo_survey",
]
