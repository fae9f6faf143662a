"""Sidebar controls: version, colour field, cutout stretch."""

from __future__ import annotations

import panel as pn
import param

from explorer.app.state import AppState


class ControlsView(pn.viewable.Viewer):
    """Widgets bound to the state's version, colour field and stretch."""

    state = param.ClassSelector(class_=AppState)

    def __init__(self, state: AppState, **params) -> None:
        super().__init__(state=state, **params)
        self._version = pn.widgets.Select.from_param(
            state.param.version, label="Embedding version", width=215
        )
        self._colour = pn.widgets.Select.from_param(
            state.param.color_field, label="Colour by", width=215
        )
        self._stretch = pn.widgets.RadioButtonGroup.from_param(
            state.param.stretch, label="Cutout stretch", width=215
        )

    def __panel__(self):
        return pn.Column(
            self._version,
            self._colour,
            pn.pane.HTML("<small>Cutout stretch</small>", margin=(0, 10)),
            self._stretch,
        )
