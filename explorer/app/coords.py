"""Sky coordinates of a store's sources: sexagesimal text and cone search.

Plain astropy/scikit-learn, testable without a server. :class:`SkyIndex` is a
haversine :class:`~sklearn.neighbors.BallTree` over a catalogue's RA/Dec,
built once per store (:func:`sky_index`, shared by the sessions of a server
and rebuilt when ``catalog.parquet`` changes).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from explorer.errors import DataError

log = logging.getLogger(__name__)

#: catalogue columns searched for a source name (first present wins)
NAME_COLUMNS = ("name", "object", "objname", "source_name", "designation")
#: radius of a cone given by a source name alone
DEFAULT_RADIUS_DEG = 5.0 / 3600.0


def sexagesimal(ra: np.ndarray | float, dec: np.ndarray | float) -> list[str]:
    """``"10h00m24.00s +02d12m00.0s"`` strings of ICRS positions in degrees."""
    from astropy import units as u
    from astropy.coordinates import SkyCoord

    coord = SkyCoord(np.atleast_1d(ra) * u.deg, np.atleast_1d(dec) * u.deg)
    return list(np.atleast_1d(coord.to_string("hmsdms", precision=2)))


def format_radec(ra: float, dec: float, *, html: bool = False) -> str:
    """RA/Dec in degrees and sexagesimal, e.g. for a hover caption."""
    sep = "<br>" if html else "  "
    return (
        f"RA {ra:.5f}°  Dec {dec:+.5f}°{sep}{sexagesimal(ra, dec)[0]}"
        if np.isfinite(ra) and np.isfinite(dec)
        else "RA/Dec unknown"
    )


@dataclass(frozen=True)
class Cone:
    """A cone on the sky: centre (deg, ICRS) and radius (deg)."""

    ra: float
    dec: float
    radius: float

    def describe(self) -> str:
        """Human text of the cone: centre in both notations and radius."""
        return f"{format_radec(self.ra, self.dec)}, r = {format_angle(self.radius)}"


def format_angle(degrees: float) -> str:
    """An angle in the unit that reads best: ``30″``, ``25′`` or ``1.5°``."""
    arcsec = float(degrees) * 3600.0
    if arcsec < 60.0:
        return f"{arcsec:.3g}″"
    if arcsec < 3600.0:
        return f"{arcsec / 60.0:.3g}′"
    return f"{float(degrees):.3g}°"


def _radius(token: str) -> float | None:
    """Radius in degrees of a token like ``30arcsec``, ``0.5deg``, ``2'``."""
    from astropy import units as u

    token = token.replace("″", "arcsec").replace("′", "arcmin")
    token = re.sub(r'(?<=\d)"$', "arcsec", re.sub(r"(?<=\d)'$", "arcmin", token))
    try:
        quantity = u.Quantity(token)
    except (TypeError, ValueError):
        return None
    if quantity.unit == u.dimensionless_unscaled or not quantity.unit.is_equivalent(
        u.deg
    ):
        return None
    return float(quantity.to_value(u.deg))


def _position(text: str) -> tuple[float, float]:
    from astropy import units as u
    from astropy.coordinates import SkyCoord

    attempts = [{}]
    if ":" in text or re.search(r"\d\s+\d+\s+\d", text):
        attempts.append({"unit": (u.hourangle, u.deg)})
    attempts.append({"unit": (u.deg, u.deg)})
    for kwargs in attempts:
        try:
            coord = SkyCoord(text.replace(",", " "), frame="icrs", **kwargs)
        except (ValueError, TypeError, u.UnitsError):
            continue
        return float(coord.ra.deg), float(coord.dec.deg)
    msg = (
        f"cannot read a sky position from {text!r}: give RA Dec in degrees "
        "('150.1 2.2'), sexagesimal ('10h00m24s +02d12m00s', '10:00:24 +02:12:00') "
        "or a source name"
    )
    raise DataError(msg)


def parse_cone(text: str, names: pd.Series | None = None, positions=None) -> Cone:
    """Read a cone search: ``"RA Dec RADIUS"`` or ``"NAME [RADIUS]"``.

    Parameters
    ----------
    text : str
        Position in any format :class:`~astropy.coordinates.SkyCoord` parses
        (degrees, ``10h00m24s +02d12m00s``, ``10:00:24 +02:12:00``) followed
        by a radius with an angle unit (``30arcsec``, ``0.5deg``, ``2arcmin``,
        ``30"``); or a source name of the catalogue, optionally followed by a
        radius (default 5 arcsec).
    names : Series, optional
        ``(N,)`` source names (case- and space-insensitive match).
    positions : tuple of ndarray, optional
        ``(ra, dec)`` ``(N,)`` degrees matching ``names``.

    Returns
    -------
    Cone

    Raises
    ------
    DataError
        If the text is not a position and radius or a known name.
    """
    text = " ".join(str(text).strip().split())
    if not text:
        raise DataError("the cone search is empty: give 'RA Dec radius' or a name")
    tokens = text.split(" ")
    radius = _radius(tokens[-1]) if len(tokens) > 1 else None
    rest = " ".join(tokens[:-1]) if radius is not None else text
    if names is not None and positions is not None:
        found = _by_name(rest, names, positions)
        if found is not None:
            return Cone(*found, radius if radius is not None else DEFAULT_RADIUS_DEG)
    if radius is None:
        msg = (
            f"no radius in cone search {text!r}: end it with an angle such as "
            "'30arcsec', '2arcmin' or '0.1deg'"
        )
        raise DataError(msg)
    if radius <= 0 or radius > 180:
        msg = f"cone radius {tokens[-1]!r} is not in (0, 180] degrees"
        raise DataError(msg)
    ra, dec = _position(rest)
    return Cone(ra, dec, radius)


def _by_name(text: str, names: pd.Series, positions) -> tuple[float, float] | None:
    key = "".join(text.lower().split())
    normal = names.astype(str).str.lower().str.replace(r"\s+", "", regex=True)
    hits = np.flatnonzero(normal.to_numpy() == key)
    if len(hits) == 0:
        return None
    ra, dec = positions
    return float(ra[hits[0]]), float(dec[hits[0]])


def name_column(catalog: pd.DataFrame) -> str | None:
    """The catalogue's source-name column, if it has one (:data:`NAME_COLUMNS`)."""
    lower = {str(c).lower(): c for c in catalog.columns}
    for name in NAME_COLUMNS:
        if name in lower and not pd.api.types.is_numeric_dtype(catalog[lower[name]]):
            return lower[name]
    return None


class SkyIndex:
    """Cone searches over fixed RA/Dec positions (haversine ball tree).

    Parameters
    ----------
    ra, dec : ndarray
        ``(N,)`` positions in degrees; non-finite positions are never found.
    names : Series, optional
        ``(N,)`` source names for :meth:`search` by name.
    """

    def __init__(
        self, ra: np.ndarray, dec: np.ndarray, names: pd.Series | None = None
    ) -> None:
        from sklearn.neighbors import BallTree

        self.ra = np.asarray(ra, dtype=np.float64)
        self.dec = np.asarray(dec, dtype=np.float64)
        if self.ra.shape != self.dec.shape or self.ra.ndim != 1:
            msg = f"ra {self.ra.shape} and dec {self.dec.shape} must be equal (N,)"
            raise ValueError(msg)
        self.names = names
        self._finite = np.flatnonzero(np.isfinite(self.ra) & np.isfinite(self.dec))
        # haversine wants (lat, lon) in radians
        points = np.radians(np.column_stack([self.dec, self.ra])[self._finite])
        self._tree = BallTree(points, metric="haversine") if len(points) else None

    def cone(self, ra: float, dec: float, radius: float) -> np.ndarray:
        """Rows within ``radius`` degrees of ``(ra, dec)`` (degrees), ascending."""
        if self._tree is None:
            return np.zeros(0, dtype=np.int64)
        centre = np.radians([[float(dec), float(ra)]])
        found = self._tree.query_radius(centre, r=np.radians(float(radius)))[0]
        return np.sort(self._finite[found]).astype(np.int64)

    def search(self, text: str) -> tuple[Cone, np.ndarray]:
        """Parse ``text`` (:func:`parse_cone`) and return the cone and its rows."""
        cone = parse_cone(text, self.names, (self.ra, self.dec))
        return cone, self.cone(cone.ra, cone.dec, cone.radius)

    @classmethod
    def of_catalog(cls, catalog: pd.DataFrame) -> SkyIndex:
        """Index of a catalogue with ``ra``/``dec`` columns (and maybe names)."""
        for col in ("ra", "dec"):
            if col not in catalog.columns:
                msg = f"the catalogue has no {col!r} column: no cone search"
                raise DataError(msg)
        name = name_column(catalog)
        return cls(
            catalog["ra"].to_numpy(dtype=np.float64),
            catalog["dec"].to_numpy(dtype=np.float64),
            catalog[name].reset_index(drop=True) if name else None,
        )


def angular_separation(
    ra1: np.ndarray | float, dec1: np.ndarray | float, ra2: float, dec2: float
) -> np.ndarray:
    """Great-circle separation in degrees (Vincenty formula, as astropy)."""
    from astropy.coordinates import angular_separation as sep

    return np.degrees(
        sep(np.radians(ra1), np.radians(dec1), np.radians(ra2), np.radians(dec2))
    )


def _index_cache():
    from explorer.app.services.caches import BoundedCache

    global _INDEXES
    if _INDEXES is None:
        _INDEXES = BoundedCache(4)
    return _INDEXES


_INDEXES = None


def sky_index(store) -> SkyIndex:
    """The shared :class:`SkyIndex` of ``store`` (rebuilt if the catalogue changed)."""
    from explorer.store.layout import CATALOG
    from explorer.store.location import store_path

    path = store_path(store.root) / CATALOG
    stamp = path.stat().st_mtime if path.exists() else 0.0
    return _index_cache().get(
        str(store_path(store.root).resolve()),
        lambda: SkyIndex.of_catalog(store.catalog),
        stamp=stamp,
    )


def unwrapped_ra(ra: np.ndarray) -> np.ndarray:
    """RA in degrees shifted so the footprint is not cut at 0/360 in a plot.

    The widest empty RA gap of the footprint becomes the plot's edge: a field
    spanning 350°..10° comes back as 350..370, not as two halves.

    Parameters
    ----------
    ra : ndarray
        ``(N,)`` degrees in [0, 360).

    Returns
    -------
    ndarray
        ``(N,)`` degrees in ``[start, start + 360)``.
    """
    ra = np.mod(np.asarray(ra, dtype=np.float64), 360.0)
    finite = np.sort(ra[np.isfinite(ra)])
    if len(finite) < 2:
        return ra
    gaps = np.diff(np.concatenate([finite, [finite[0] + 360.0]]))
    widest = int(np.argmax(gaps))
    start = finite[(widest + 1) % len(finite)]
    return np.where(ra < start, ra + 360.0, ra)
