"""Rendering for the dashboard without Panel: cutout images (stretches, PNG
tiles) and the datashaded map (RGBA images and colour bars)."""
