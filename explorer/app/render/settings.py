"""Display settings of cutouts: one hashable value and its astropy objects.

:class:`DisplaySettings` is what the hover, the grids, the inspector and PNG
exports all draw with (and part of every PNG cache key);
:func:`interval_of` and :func:`stretch_of` give its
:mod:`astropy.visualization` interval and stretch.
"""

from __future__ import annotations

from dataclasses import dataclass

STRETCHES = ("lupton", "asinh", "log", "sqrt", "linear")
INTERVALS = ("zscale", "percentile")
#: astropy AsinhStretch(a): asinh(x / a) / asinh(1 / a); a = 1 / softening
ASINH_A = 0.1
#: astropy LogStretch(a): log(a x + 1) / log(a + 1)
LOG_A = 1000.0


@dataclass(frozen=True)
class DisplaySettings:
    """How cutouts are drawn (hashable: part of every PNG cache key).

    Parameters
    ----------
    stretch : {"lupton", "asinh", "log", "sqrt", "linear"}
        Display stretch.
    interval : {"zscale", "percentile"}
        Per-band limits of the non-Lupton stretches.
    percentile : float
        Central percentage kept by the ``percentile`` interval (0-100].
    rgb : tuple of str, optional
        Band names shown as R, G, B; None = the reddest three, reddest in R.
    """

    stretch: str = "lupton"
    interval: str = "percentile"
    percentile: float = 99.5
    rgb: tuple[str, str, str] | None = None

    def __post_init__(self) -> None:
        if self.stretch not in STRETCHES:
            msg = (
                f"unknown stretch {self.stretch!r}; choose one of "
                f"{', '.join(STRETCHES)}"
            )
            raise ValueError(msg)
        if self.interval not in INTERVALS:
            msg = f"unknown interval {self.interval!r}; choose one of {INTERVALS}"
            raise ValueError(msg)
        if not 0.0 < float(self.percentile) <= 100.0:
            msg = f"percentile {self.percentile} is not in (0, 100]"
            raise ValueError(msg)
        if self.rgb is not None:
            rgb = tuple(str(b) for b in self.rgb)
            if len(rgb) != 3:
                msg = f"rgb needs three band names (R, G, B), got {list(rgb)}"
                raise ValueError(msg)
            object.__setattr__(self, "rgb", rgb)
        object.__setattr__(self, "percentile", float(self.percentile))

    @classmethod
    def coerce(cls, value: DisplaySettings | str | None) -> DisplaySettings:
        """Settings from a settings object, a stretch name, or None (default)."""
        if value is None:
            return cls()
        if isinstance(value, DisplaySettings):
            return value
        return cls(stretch=str(value))

    def label(self) -> str:
        """Short human description, e.g. ``"asinh, zscale, R=i G=r B=g"``."""
        parts = [self.stretch]
        if self.stretch != "lupton":
            parts.append(
                "zscale"
                if self.interval == "zscale"
                else f"{self.percentile:g}% interval"
            )
        if self.rgb is not None:
            parts.append("R={} G={} B={}".format(*self.rgb))
        return ", ".join(parts)


def interval_of(settings: DisplaySettings):
    from astropy.visualization import PercentileInterval, ZScaleInterval

    if settings.interval == "zscale":
        return ZScaleInterval()
    return PercentileInterval(settings.percentile)


def stretch_of(name: str):
    """The astropy stretch object of a non-Lupton stretch name."""
    from astropy.visualization import (
        AsinhStretch,
        LinearStretch,
        LogStretch,
        SqrtStretch,
    )

    return {
        "asinh": lambda: AsinhStretch(a=ASINH_A),
        "log": lambda: LogStretch(a=LOG_A),
        "sqrt": SqrtStretch,
        "linear": LinearStretch,
    }[name]()
