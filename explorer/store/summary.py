"""The text of ``latentsky info``: what a store holds, in a few lines."""

from __future__ import annotations

from typing import TYPE_CHECKING

from explorer.store import layout

if TYPE_CHECKING:
    from explorer.store.store import Store


def summary_text(store: Store) -> str:
    """Human-readable multi-line description of ``store``."""
    cat = store.catalog
    lines = [
        f"store      {store.root}",
        f"format     {layout.FORMAT_NAME} v{store.manifest['format_version']}",
        f"sources    {store.n_sources:,}",
        f"bands      {', '.join(store.bands)}",
        f"cutouts    {store.cutout_size}x{store.cutout_size} px float32",
        f"ra range   {cat['ra'].min():.4f} .. {cat['ra'].max():.4f} deg",
        f"dec range  {cat['dec'].min():.4f} .. {cat['dec'].max():.4f} deg",
        f"columns    {', '.join(c for c in cat.columns if not c.startswith('_'))}",
        f"disk       {store.disk_bytes() / 2**20:,.1f} MiB",
    ]
    masked = int(cat["n_masked"].astype(bool).sum()) if "n_masked" in cat else 0
    lines.append(f"masked     {masked:,} sources had NaN/inf pixels (filled)")
    if not store.versions:
        lines.append(
            "versions   none yet (run `latentsky train` and `latentsky embed`)"
        )
    for name in store.versions:
        info = store.manifest["versions"][name]
        mark = "*" if name == store.current_version else " "
        dim = info.get("embedding_dim", "?")
        lines.append(
            f"version  {mark} {name}  dim={dim}  created {info.get('created')}"
        )
    return "\n".join(lines)
