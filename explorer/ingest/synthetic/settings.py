"""Observing settings of a synthetic survey, and the named presets.

A :class:`SurveySettings` is everything about *how* the sky is observed
(seeing, depth, crowding, pixel grid, the mix of kinds); the random seed and
cutout size are chosen separately. Two presets exist so that a method can be
chosen on one survey and reported on another: ``demo`` (good seeing, deep) and
``second`` (worse seeing, shallower, more crowded, meant for another seed and
48 px cutouts).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any

from explorer.ingest.synthetic.kinds import KIND_FRACTIONS


@dataclass(frozen=True)
class SurveySettings:
    """How a synthetic survey is observed.

    Attributes
    ----------
    name : str
        Preset name (written to the FITS header).
    seeing_r : (float, float)
        Range of the r-band seeing FWHM in arcsec, drawn uniformly per source.
    seeing_ratio : (float, float, float)
        Mean g, r, z seeing relative to r (atmospheric seeing ~ lambda^-0.2).
    seeing_jitter : float
        Log-normal scatter of each band's seeing about that mean (the bands of
        one source are separate exposures).
    moffat_beta : float
        Moffat PSF power index (smaller = broader wings).
    sky_sigma : (float, float, float)
        Sky noise per pixel in g, r, z (nanomaggies) at 0.25 arcsec pixels;
        it scales with the pixel side for other pixel scales.
    mag_limit : float
        Faintest r magnitude of a catalogued central source (about the 5 sigma
        point-source limit of ``sky_sigma``).
    companion_rate : float
        Share of cutouts with 1-3 catalogue-depth neighbours.
    field_arcsec : float
        Side of every cutout in arcsec (pixel scale = field / size).
    default_size, default_seed : int
        Cutout size and seed the preset is meant to be generated with.
    kind_fractions : tuple of (str, float)
        Share of each kind; see :data:`~explorer.ingest.synthetic.KIND_FRACTIONS`.
    """

    name: str = "demo"
    seeing_r: tuple[float, float] = (0.65, 1.15)
    seeing_ratio: tuple[float, float, float] = (1.08, 1.0, 0.92)
    seeing_jitter: float = 0.06
    moffat_beta: float = 3.5
    sky_sigma: tuple[float, float, float] = (0.010, 0.014, 0.032)
    mag_limit: float = 23.0
    companion_rate: float = 0.35
    field_arcsec: float = 16.0
    default_size: int = 64
    default_seed: int = 0
    kind_fractions: tuple[tuple[str, float], ...] = tuple(KIND_FRACTIONS.items())

    def __post_init__(self) -> None:
        lo, hi = self.seeing_r
        if not 0.2 <= lo <= hi <= 5.0:
            msg = f"seeing_r {self.seeing_r} is not a range within 0.2-5 arcsec"
            raise ValueError(msg)
        if not 1.5 < self.moffat_beta <= 10:
            msg = f"moffat_beta {self.moffat_beta} is not in (1.5, 10]"
            raise ValueError(msg)
        if not 0.0 <= self.companion_rate <= 1.0:
            msg = f"companion_rate {self.companion_rate} is not in [0, 1]"
            raise ValueError(msg)
        if min(self.sky_sigma) <= 0:
            msg = f"sky_sigma {self.sky_sigma} must be > 0 in every band"
            raise ValueError(msg)
        kinds = [k for k, _ in self.kind_fractions]
        if sorted(kinds) != sorted(KIND_FRACTIONS):
            msg = f"kind_fractions names {kinds} differ from {list(KIND_FRACTIONS)}"
            raise ValueError(msg)
        total = sum(f for _, f in self.kind_fractions)
        if abs(total - 1.0) > 1e-6 or min(f for _, f in self.kind_fractions) < 0:
            msg = f"kind_fractions must be >= 0 and sum to 1, they sum to {total}"
            raise ValueError(msg)

    @property
    def fractions(self) -> dict[str, float]:
        """Kind fractions in the order of :data:`KINDS`."""
        given = dict(self.kind_fractions)
        return {kind: given[kind] for kind in KIND_FRACTIONS}

    def pixel_scale(self, size: int) -> float:
        """Pixel scale in arcsec of ``size`` px cutouts."""
        return self.field_arcsec / size

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values (kind fractions as a mapping)."""
        values = dataclasses.asdict(self)
        values["kind_fractions"] = self.fractions
        return values

    def to_json(self) -> str:
        """Compact JSON of :meth:`to_dict` (for file headers)."""
        return json.dumps(self.to_dict(), separators=(",", ":"))


#: Named presets: choose settings on ``demo``, report on ``second``.
PRESETS: dict[str, SurveySettings] = {
    "demo": SurveySettings(),
    "second": SurveySettings(
        name="second",
        seeing_r=(0.9, 1.6),
        seeing_jitter=0.08,
        moffat_beta=2.8,
        sky_sigma=(0.016, 0.021, 0.045),
        mag_limit=22.5,
        companion_rate=0.45,
        default_size=48,
        default_seed=1,
    ),
}
DEMO = PRESETS["demo"]


def preset(name: str) -> SurveySettings:
    """The preset called ``name``.

    Raises
    ------
    ValueError
        If there is no such preset.
    """
    if name not in PRESETS:
        msg = f"unknown survey preset {name!r} (expected one of {sorted(PRESETS)})"
        raise ValueError(msg)
    return PRESETS[name]
