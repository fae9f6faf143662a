"""Sidebar controls: version, colour field and the cutout display settings."""

from __future__ import annotations

import panel as pn
import param

from explorer.app.state import AppState
from explorer.app.views.display import DisplayView


class ControlsView(pn.viewable.Viewer):
    """Widgets bound to the state's version, colour field and display settings."""

    state = param.ClassSelector(class_=AppState)

    def __init__(self, state: AppState, **params) -> None:
        super().__init__(state=state, **params)
        self._version = pn.widgets.Select.from_param(
            state.param.version, label="Embedding version", width=215
        )
        self._colour = pn.widgets.Select.from_param(
            state.param.color_field, label="Colour by", width=215
        )
        self._display = DisplayView(state)

    def __panel__(self):
        return pn.Column(self._version, self._colour, self._display)
