"""What the map shows beside the image for a colour field: a colour bar, or a
legend of categories, or one sentence (a constant or empty field).

No Panel and no Bokeh models: :func:`field_legend` decides from the field's
values and its :func:`~explorer.app.render.map.style_for` style; the map view
shows the bar only for ``kind == "bar"`` and the legend text otherwise. A
colour bar over a constant field (``0 … 1e-9``), a bar with ticks at -1.5 … 0.5
for "no saved clusters", or a bar over NaN only, tell the user nothing.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from explorer.app import data as mapdata

#: most categories listed as a legend (more get a colour bar with ticks)
MAX_LEGEND = 12
#: label of the -1 category
NO_CATEGORY = {"cluster": "no cluster", mapdata.SAVED_CLUSTER: "in no saved cluster"}


@dataclass(frozen=True)
class FieldLegend:
    """How the map explains one colour field.

    Attributes
    ----------
    kind : {"bar", "categories", "constant", "empty"}
        ``bar``: a colour bar (numeric fields, counts, many categories);
        ``categories``: a legend of coloured swatches; ``constant`` / ``empty``:
        one sentence and no bar.
    text : str
        Plain sentence shown above the map ("" for a plain bar).
    entries : tuple of (str, str)
        ``(label, hex colour)`` of each category, for ``categories``.
    """

    kind: str
    text: str = ""
    entries: tuple[tuple[str, str], ...] = ()

    @property
    def show_bar(self) -> bool:
        """Whether the colour bar is shown."""
        return self.kind == "bar"

    def html(self) -> str:
        """The legend as HTML (swatches and labels, or the sentence)."""
        swatches = "".join(
            "<span class='legend-entry' style='margin-right:8px;white-space:nowrap'>"
            f"<span style='display:inline-block;width:10px;height:10px;"
            f"background:{colour};margin-right:3px'></span>{html.escape(label)}"
            "</span>"
            for label, colour in self.entries
        )
        text = f"<span class='legend-text'>{html.escape(self.text)}</span> "
        return (text if self.text else "") + swatches


def field_legend(
    field: str,
    values: np.ndarray,
    style: dict,
    names: Sequence[str] | None = None,
) -> FieldLegend:
    """Decide the bar or legend of colour ``field``.

    Parameters
    ----------
    field : str
        The colour field.
    values : ndarray
        ``(N,)`` per-source values (:func:`explorer.app.data.field_values`);
        categories are integers ``>= 0`` and ``-1`` for none.
    style : dict
        :func:`explorer.app.render.map.style_for` of the field (its ``cmap``
        gives the category colours).
    names : sequence of str, optional
        Name of category ``c`` at index ``c`` (saved clusters); default
        ``"<field> <c>"``.

    Returns
    -------
    FieldLegend
    """
    values = np.asarray(values, dtype=np.float64)
    if field == mapdata.COUNT:
        if values.size == 0:
            return FieldLegend("empty", "no sources in this version")
        return FieldLegend("bar")
    if field in mapdata.CATEGORICAL:
        return _categories(field, values, style["opts"]["cmap"], names)
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return FieldLegend("empty", f"{field}: no source has a value (all NaN)")
    low, high = float(finite.min()), float(finite.max())
    if low == high:
        missing = values.size - finite.size
        tail = f" ({missing:,} without a value)" if missing else ""
        return FieldLegend(
            "constant", f"{field} = {low:.6g} for every source{tail}: nothing to colour"
        )
    return FieldLegend("bar")


def _categories(
    field: str, values: np.ndarray, cmap: list[str], names: Sequence[str] | None
) -> FieldLegend:
    """Swatches of the categories present (colour of ``c`` is ``cmap[c + 1]``)."""
    finite = values[np.isfinite(values)]
    present = np.unique(finite[finite >= 0]).astype(int)
    none_label = NO_CATEGORY.get(field, f"no {field}")
    if present.size == 0:
        if field == mapdata.SAVED_CLUSTER:
            text = "no saved clusters yet: save a selection in the Clusters tab"
        else:
            text = f"no source is in a {field}"
        return FieldLegend("empty", text)
    if present.size > MAX_LEGEND:
        return FieldLegend("bar", f"{present.size} categories; grey = {none_label}")

    def label(c: int) -> str:
        if names is not None and c < len(names):
            return str(names[c])
        return f"{field.replace('_', ' ')} {c}"

    entries = [(label(c), cmap[min(c + 1, len(cmap) - 1)]) for c in present]
    if (finite < 0).any() or finite.size < values.size:
        entries.append((none_label, cmap[0]))
    return FieldLegend("categories", "", tuple(entries))
