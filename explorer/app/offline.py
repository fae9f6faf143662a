"""The page loads nothing from outside the server.

Panel's Fast design asks ``fonts.googleapis.com`` for Open Sans twice (the
design's ``font`` resource and the template's ``font_url``). Observatory
networks are often closed, so the dashboard uses the system's sans-serif font
instead; every script and style sheet is already served by Panel itself.
"""

from __future__ import annotations

from panel.theme.fast import Fast

#: System fonts only: no file to download.
FONT = "system-ui, -apple-system, 'Segoe UI', 'DejaVu Sans', sans-serif"


class OfflineFast(Fast):
    """Panel's Fast design without its web-font resource."""

    # Panel reads a design's fonts from this class attribute (there is no
    # public option); everything else of the Fast design is kept.
    _resources = {**Fast._resources, "font": {}}


# Panel finds a design's own files under the lower-cased class name
# ("fast/js/fast_design.js"), so the subclass answers to the same name.
OfflineFast.__name__ = "Fast"


#: Keyword arguments for a Fast template that keep the page offline.
TEMPLATE_OPTIONS = {"design": OfflineFast, "font": FONT, "font_url": ""}
