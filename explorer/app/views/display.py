"""Display settings: stretch, interval, percentile and the band -> colour map.

The widgets write the state's ``stretch``, ``interval``, ``percentile`` and
``rgb_bands``; the state folds them into one ``display`` value that every
cutout (hover, grids, inspector, PNG downloads) is drawn with and the URL
remembers.
"""

from __future__ import annotations

import panel as pn
import param

from explorer.app.render.images import rgb_order
from explorer.app.state import AppState

#: choice of a colour channel meaning "the default mapping"
AUTO = "auto"


class DisplayView(pn.viewable.Viewer):
    """Widgets of the display settings, bound to the state."""

    state = param.ClassSelector(class_=AppState)

    def __init__(self, state: AppState, **params) -> None:
        super().__init__(state=state, **params)
        self._stretch = pn.widgets.Select.from_param(
            state.param.stretch, label="Stretch", width=105
        )
        self._interval = pn.widgets.Select.from_param(
            state.param.interval, label="Limits", width=105
        )
        self._percentile = pn.widgets.FloatSlider.from_param(
            state.param.percentile, label="Percentile (%)", step=0.1, width=215
        )
        bands = [str(b) for b in state.store.bands]
        default = [bands[i] for i in rgb_order(bands)]
        self._channels = [
            pn.widgets.Select(
                label=f"{colour} ({default[k]})",
                options=[AUTO, *bands],
                value=AUTO,
                width=68,
                css_classes=[f"band-{colour.lower()}"],
            )
            for k, colour in enumerate(("R", "G", "B"))
        ]
        for widget in self._channels:
            widget.param.watch(self._on_channel, "value")
        self._sync_channels()

    def _on_channel(self, event=None) -> None:
        values = [w.value for w in self._channels]
        if all(v == AUTO for v in values):
            self.state.rgb_bands = []
            return
        bands = [str(b) for b in self.state.store.bands]
        default = [bands[i] for i in rgb_order(bands)]
        chosen = [d if v == AUTO else v for v, d in zip(values, default, strict=True)]
        # the default mapping spelled out is "auto": the widgets go back to it
        self.state.rgb_bands = [] if chosen == default else chosen

    @param.depends("state.rgb_bands", watch=True)
    def _sync_channels(self) -> None:
        wanted = list(self.state.rgb_bands) or [AUTO] * 3
        for widget, value in zip(self._channels, wanted, strict=True):
            if widget.value != value:
                widget.value = value

    def __panel__(self):
        return pn.Column(
            pn.pane.HTML("<small>Cutout display</small>", margin=(0, 10)),
            pn.Row(self._stretch, self._interval),
            self._percentile,
            pn.pane.HTML("<small>Bands as red, green, blue</small>", margin=(0, 10)),
            pn.Row(*self._channels),
        )
