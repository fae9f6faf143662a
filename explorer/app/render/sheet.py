"""A PNG contact sheet: cutouts of a selection in a captioned grid.

Plain numpy + Pillow (no Panel), so ``latentsky export --contact-sheet`` and
the dashboard's download button draw the same sheet with the same
:class:`~explorer.app.render.images.DisplaySettings`.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence

import numpy as np

from explorer.app.render.images import DisplaySettings, render

#: height in pixels of the caption strip under each tile
CAPTION_H = 14
#: gap in pixels between tiles and around the sheet
GAP = 4
#: most tiles on one sheet (a 10 000-source cluster would be a 1 GB image)
MAX_TILES = 2000
BACKGROUND = (13, 17, 23)
TEXT = (201, 209, 217)


def sheet_shape(n: int, columns: int | None = None) -> tuple[int, int]:
    """Grid ``(rows, columns)`` of ``n`` tiles (default: as square as possible)."""
    if n <= 0:
        msg = "a contact sheet needs at least one source"
        raise ValueError(msg)
    cols = int(columns) if columns else math.ceil(math.sqrt(n))
    if cols <= 0:
        msg = f"columns must be positive, got {columns}"
        raise ValueError(msg)
    cols = min(cols, n)
    return math.ceil(n / cols), cols


def sheet_size(n: int, tile: int, columns: int | None = None) -> tuple[int, int]:
    """``(width, height)`` in pixels of a sheet of ``n`` tiles of side ``tile``."""
    rows, cols = sheet_shape(n, columns)
    width = GAP + cols * (tile + GAP)
    height = GAP + rows * (tile + CAPTION_H + GAP)
    return width, height


def contact_sheet(
    cutouts: np.ndarray,
    bands: Sequence[str],
    captions: Sequence[str],
    settings: DisplaySettings | str = "lupton",
    *,
    tile: int = 96,
    columns: int | None = None,
    title: str | None = None,
) -> bytes:
    """Draw ``cutouts`` as a captioned grid and encode it as PNG.

    Parameters
    ----------
    cutouts : ndarray
        ``(N, B, S, S)`` float pixels, in sheet order (row by row).
    bands : sequence of str
        The ``B`` band names.
    captions : sequence of str
        ``N`` captions (e.g. source ids) drawn under the tiles.
    settings : DisplaySettings or str
        Display settings of every tile.
    tile : int
        Tile side in pixels (nearest-neighbour upscaling).
    columns : int, optional
        Tiles per row (default about ``sqrt(N)``).
    title : str, optional
        Written into the PNG's ``Title`` text chunk.

    Returns
    -------
    bytes
        The PNG file, :func:`sheet_size` pixels.

    Raises
    ------
    ValueError
        Empty input, more than :data:`MAX_TILES` tiles, or captions that do
        not match the cutouts.
    """
    from PIL import Image, ImageDraw, PngImagePlugin

    cutouts = np.asarray(cutouts)
    n = len(cutouts)
    if n > MAX_TILES:
        msg = f"{n} sources is too many for one contact sheet (at most {MAX_TILES})"
        raise ValueError(msg)
    if len(captions) != n:
        msg = f"{len(captions)} captions for {n} cutouts"
        raise ValueError(msg)
    if tile < 8:
        msg = f"tile size {tile} px is too small (at least 8)"
        raise ValueError(msg)
    settings = DisplaySettings.coerce(settings)
    rows, cols = sheet_shape(n, columns)
    sheet = Image.new("RGB", sheet_size(n, tile, columns), BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    for k in range(n):
        rgb = render(cutouts[k], bands, settings)
        image = Image.fromarray(np.ascontiguousarray(rgb), mode="RGB").resize(
            (tile, tile), Image.Resampling.NEAREST
        )
        r, c = divmod(k, cols)
        x = GAP + c * (tile + GAP)
        y = GAP + r * (tile + CAPTION_H + GAP)
        sheet.paste(image, (x, y))
        draw.text((x + 1, y + tile + 1), str(captions[k])[: tile // 6], fill=TEXT)
    info = PngImagePlugin.PngInfo()
    info.add_text("Title", title or "latentsky contact sheet")
    info.add_text("Description", f"{n} sources; display {settings.label()}")
    buffer = io.BytesIO()
    sheet.save(buffer, format="PNG", pnginfo=info, compress_level=3)
    return buffer.getvalue()


def store_contact_sheet(
    store,
    ids: Sequence[int] | np.ndarray,
    settings: DisplaySettings | str = "lupton",
    *,
    tile: int = 96,
    columns: int | None = None,
    title: str | None = None,
) -> bytes:
    """:func:`contact_sheet` of the sources ``ids`` of a store, captioned by id.

    Parameters
    ----------
    store : explorer.store.Store
        The store.
    ids : array-like of int
        ``(N,)`` source ids, in sheet order.
    settings, tile, columns, title
        As in :func:`contact_sheet`.

    Returns
    -------
    bytes
        The PNG file.

    Raises
    ------
    explorer.errors.StoreError
        If an id is not in the store.
    ValueError
        As :func:`contact_sheet`.
    """
    ids = np.asarray(ids, dtype=np.int64)
    if len(ids) > MAX_TILES:
        msg = (
            f"{len(ids)} sources is too many for one contact sheet "
            f"(at most {MAX_TILES})"
        )
        raise ValueError(msg)
    rows = store.rows_of(ids)
    order = np.argsort(rows)
    block = np.empty((len(ids), len(store.bands), store.cutout_size, store.cutout_size))
    if len(ids):
        block[order] = store.cutouts_at(rows[order])
    return contact_sheet(
        block,
        store.bands,
        [str(i) for i in ids],
        settings,
        tile=tile,
        columns=columns,
        title=title,
    )
