"""Uploaded FITS cutouts: parse, check against the store, embed (in a subprocess
started by :func:`explorer.jobs.runner.embed_cutouts`).

Kept free of Panel so the checks are unit-tested without a server.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from explorer.errors import DataError
from explorer.jobs.runner import embed_cutouts

log = logging.getLogger(__name__)

#: the largest FITS upload accepted (the server's websocket limit fits it)
MAX_UPLOAD_BYTES = 16 * 2**20


def upload_limit_text() -> str:
    """The upload limit as shown to the user, e.g. ``16 MiB``."""
    return f"{MAX_UPLOAD_BYTES / 2**20:g} MiB"


def parse_fits_cutout(
    data: bytes, bands: Sequence[str], size: int, filename: str = "upload"
) -> np.ndarray:
    """Read one cutout from FITS bytes and check it matches the store.

    The first HDU holding an image is used. Accepted shapes: ``(B, S, S)``,
    ``(1, B, S, S)``, and ``(S, S)`` for a single-band store.

    Parameters
    ----------
    data : bytes
        Contents of the FITS file.
    bands : sequence of str
        The store's bands (``B = len(bands)``).
    size : int
        The store's cutout side ``S`` in pixels.
    filename : str
        Named in error messages.

    Returns
    -------
    ndarray
        ``(1, B, S, S)`` float32 with non-finite pixels set to the band median.

    Raises
    ------
    DataError
        If the file is larger than :data:`MAX_UPLOAD_BYTES`, is not FITS,
        holds no image, or its shape does not match.
    """
    from astropy.io import fits

    if len(data) > MAX_UPLOAD_BYTES:
        msg = (
            f"{filename} is {len(data) / 2**20:.1f} MiB, larger than the "
            f"{upload_limit_text()} an upload may be (one cutout of "
            f"{len(bands)}x{size}x{size} px needs far less)"
        )
        raise DataError(msg)

    try:
        with fits.open(io.BytesIO(data), memmap=False) as hdul:
            image = next(
                (
                    h.data
                    for h in hdul
                    if getattr(h, "is_image", False) and h.data is not None
                ),
                None,
            )
            image = None if image is None else np.array(image, dtype=np.float32)
    except (OSError, ValueError, TypeError) as exc:
        msg = f"{filename} is not a readable FITS file: {exc}"
        raise DataError(msg) from exc
    if image is None:
        msg = f"{filename} holds no image HDU"
        raise DataError(msg)
    n_bands = len(bands)
    if image.ndim == 4 and image.shape[0] == 1:
        image = image[0]
    if image.ndim == 2 and n_bands == 1:
        image = image[None]
    expected = (n_bands, size, size)
    if image.shape != expected:
        msg = (
            f"{filename} has shape {image.shape}, but this store needs "
            f"{expected} (bands {', '.join(bands)}, {size}x{size} px)"
        )
        raise DataError(msg)
    for band in image:
        bad = ~np.isfinite(band)
        if bad.all():
            msg = f"{filename} has a band with no finite pixels"
            raise DataError(msg)
        if bad.any():
            band[bad] = np.median(band[~bad])
    return image[None]


def checkpoint_of(store, version: str) -> Path:
    """The checkpoint that produced ``version`` (from its ``config.json``).

    Raises
    ------
    DataError
        If the config names no checkpoint or the file is gone.
    """
    path = store.version_checkpoint(version)
    if path is None:
        msg = (
            f"version {version!r} has no checkpoint in its config.json, so uploads "
            "cannot be embedded; embed the store with `latentsky embed` first"
        )
        raise DataError(msg)
    if not path.exists():
        msg = (
            f"checkpoint {path} of version {version!r} is not available on this "
            "machine; copy it there to search by upload"
        )
        raise DataError(msg)
    return path


def embed_upload(store, version: str, cutouts: np.ndarray) -> np.ndarray:
    """Embed uploaded cutouts with the version's checkpoint, in a subprocess.

    The server process never imports torch (:func:`explorer.jobs.runner.embed_cutouts`).

    Returns
    -------
    ndarray
        ``(n, D)`` float32.

    Raises
    ------
    DataError
        If the checkpoint is missing or unusable, or the embedding failed.
    """
    return embed_cutouts(checkpoint_of(store, version), cutouts)
