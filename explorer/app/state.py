"""The session state of the dashboard: one ``param.Parameterized``.

Views read and write this object only; they never talk to each other. The
logic here (hover lookup, selection resolution, grid paging and ordering, URL
parameters) is plain Python and is tested without a server.
"""

from __future__ import annotations

import logging
import numbers

import numpy as np
import param

from explorer.app import data as mapdata
from explorer.app import services
from explorer.app.render.images import INTERVALS, STRETCHES, DisplaySettings
from explorer.errors import LatentskyError
from explorer.store import Store

log = logging.getLogger(__name__)

#: grid page size (cutouts per page)
PER_PAGE = 48
#: state parameters mirrored in the page URL (parameter -> query key)
URL_PARAMS = {
    "version": "version",
    "color_field": "color",
    "view": "view",
    "stretch": "stretch",
    "interval": "interval",
    "percentile": "pct",
    "rgb_bands": "rgb",
}
#: the display-settings parameters (one DisplaySettings value, ``display``)
DISPLAY_PARAMS = ("stretch", "interval", "percentile", "rgb_bands")


class AppState(param.Parameterized):
    """Everything one browser session is looking at.

    Parameters
    ----------
    store : explorer.store.Store
        The opened store (its current version is shown by default).
    """

    version = param.Selector(objects=[], doc="embedding version shown")
    color_field = param.Selector(default=mapdata.COUNT, objects=[mapdata.COUNT])
    stretch = param.Selector(default="lupton", objects=list(STRETCHES))
    interval = param.Selector(
        default="percentile", objects=list(INTERVALS), doc="per-band limits"
    )
    percentile = param.Number(
        default=99.5, bounds=(50.0, 100.0), doc="percentile interval width (%)"
    )
    rgb_bands = param.List(
        default=[], item_type=str, doc="bands shown as R, G, B ([] = reddest three)"
    )
    display = param.ClassSelector(
        class_=DisplaySettings,
        default=DisplaySettings(),
        doc="the settings every cutout is drawn with (from the four above)",
    )
    inspected_id = param.Integer(
        default=None, allow_None=True, doc="source shown in the inspector"
    )
    view = param.List(
        default=None,
        allow_None=True,
        item_type=numbers.Real,
        doc="map view [x0, x1, y0, y1] (URL-synced)",
    )

    hovered_id = param.Integer(default=None, allow_None=True)
    selection_ids = param.Array(default=np.zeros(0, dtype=np.int64))
    selection_geometry = param.Dict(
        default=None, allow_None=True, doc="{'kind': 'box'|'lasso', 'coords': ...}"
    )
    sort_key = param.Selector(default="anomaly_score", objects=["anomaly_score"])
    sort_descending = param.Boolean(default=True, doc="grid order: largest first")
    page = param.Integer(default=0, bounds=(0, None))

    similar_query_ids = param.List(default=[], item_type=int)
    positives = param.List(default=[], item_type=int)
    negatives = param.List(default=[], item_type=int)
    similar_k = param.Integer(default=24, bounds=(1, 200))
    similar_result_ids = param.List(
        default=[], item_type=int, doc="ids found by the latest similar search"
    )

    show_anomalies = param.Boolean(default=False)
    anomaly_k = param.Integer(default=100, bounds=(1, 5000))
    shown_cluster = param.String(
        default=None, allow_None=True, doc="saved cluster drawn on the map"
    )
    clusters_changed = param.Event(
        doc="saved clusters or tags changed (in this or another session)"
    )
    shown_tab = param.String(
        default=None,
        allow_None=True,
        doc="name of the side tab on screen (None outside a page: all shown)",
    )
    notification = param.Dict(
        default=None,
        allow_None=True,
        doc="{'level': 'error'|'warning'|'info', 'text': ...}",
    )

    def __init__(self, store: Store, **params) -> None:
        self.store = store
        self._notes = None  # the annotations database, opened on first use
        #: explorer.app.render.tiles.CutoutImages shared by the store's sessions
        self.images = services.cutout_images(store)
        super().__init__(**params)
        versions = store.versions
        self.param.version.objects = versions
        if self.version is None or self.version not in versions:
            with param.parameterized.discard_events(self):
                self.version = store.current_version or (
                    versions[-1] if versions else None
                )
        self._on_version()
        self._on_display()

    # ------------------------------------------------------------- display
    @param.depends(*DISPLAY_PARAMS, watch=True)
    def _on_display(self) -> None:
        rgb = tuple(self.rgb_bands) if self.rgb_bands else None
        bands = [str(b) for b in self.store.bands]
        if rgb is not None and (len(rgb) != 3 or not set(rgb) <= set(bands)):
            self.notify(
                "warning",
                f"colour bands {list(rgb)} are not three of {bands}: "
                "showing the default (reddest three)",
            )
            rgb = None
        settings = DisplaySettings(self.stretch, self.interval, self.percentile, rgb)
        if settings != self.display:
            self.display = settings

    # ---------------------------------------------------------------- data
    @property
    def data(self) -> mapdata.MapData:
        """The shared map table of the current version."""
        return services.map_data(self.store, self.version)

    @param.depends("version", watch=True)
    def _on_version(self) -> None:
        if self.version is None:
            return
        fields = [mapdata.COUNT, *self.data.numeric_fields(), mapdata.SAVED_CLUSTER]
        if self.previous_version is not None:
            fields.append(mapdata.NEIGHBOURHOOD_CHANGE)
        if self._has_labels():
            fields.append(mapdata.RELEVANCE)
        self.param.color_field.objects = fields
        if self.color_field not in fields:
            self.color_field = mapdata.COUNT
        sort_keys = ["anomaly_score", "centroid", "id"] + [
            f for f in self.data.numeric_fields() if f != "anomaly_score"
        ]
        if "anomaly_score" not in self.data.table:
            sort_keys.remove("anomaly_score")
        self.param.sort_key.objects = sort_keys
        if self.sort_key not in sort_keys:
            self.sort_key = sort_keys[0]
        self.clear_selection()
        self.hovered_id = None
        self.inspected_id = None

    def _has_labels(self) -> bool:
        """Whether a source carries an interesting/boring/artefact label."""
        from explorer.store.annotations import Annotations

        try:
            # one database object per session: opening one checks the schema
            # in a write transaction, and every save in any session asks this
            if self._notes is None:
                self._notes = Annotations.of_store(self.store)
            return self._notes.has_tags()
        except LatentskyError as exc:
            log.warning("annotations unreadable: %s", exc)
            return False

    @param.depends("clusters_changed", watch=True)
    def _on_annotations(self) -> None:
        # the relevance colour appears with the first label, goes with the last
        fields = list(self.param.color_field.objects)
        if self._has_labels() == (mapdata.RELEVANCE in fields):
            return
        if mapdata.RELEVANCE in fields:
            fields.remove(mapdata.RELEVANCE)
            if self.color_field == mapdata.RELEVANCE:
                self.color_field = mapdata.COUNT
        else:
            fields.append(mapdata.RELEVANCE)
        self.param.color_field.objects = fields

    def on_screen(self, tab: str) -> bool:
        """Whether the side tab ``tab`` is on screen (always, outside a page).

        Views inside a tab skip work while their tab is hidden and catch up
        when it is shown (:class:`explorer.app.views.deferred.WhenShown`): a
        change made in another session (a saved cluster, a tag) is then
        redrawn in the sessions that look at it, not in all of them.
        """
        return self.shown_tab is None or self.shown_tab == tab

    @property
    def previous_version(self) -> str | None:
        """The version created before the current one (for the version diff)."""
        versions = self.store.versions
        if self.version not in versions:
            return None
        index = versions.index(self.version)
        return versions[index - 1] if index > 0 else None

    # --------------------------------------------------------------- hover
    def hover_at(self, x: float | None, y: float | None, radius: float) -> int | None:
        """Set ``hovered_id`` to the source nearest ``(x, y)`` within ``radius``.

        Parameters
        ----------
        x, y : float or None
            Pointer position in map units (None when the pointer left).
        radius : float
            Search radius in map units (a few screen pixels).

        Returns
        -------
        int or None
            The hovered source id (unchanged if nothing is near).
        """
        if x is None or y is None:
            return self.hovered_id
        row = self.data.nearest(x, y, radius)
        if row is not None:
            self.hovered_id = int(self.data.ids[row])
        return self.hovered_id

    def id_at(self, x: float | None, y: float | None, radius: float) -> int | None:
        """Id of the source nearest ``(x, y)`` within ``radius``, or None."""
        if x is None or y is None:
            return None
        row = self.data.nearest(x, y, radius)
        return None if row is None else int(self.data.ids[row])

    # ----------------------------------------------------------- selection
    def select_box(self, bounds) -> np.ndarray:
        """Select the sources inside ``bounds = (x0, y0, x1, y1)``; returns ids."""
        rows = self.data.select_box(bounds)
        geometry = {"kind": "box", "coords": [float(v) for v in bounds]}
        return self._set_selection(rows, geometry)

    def select_polygon(self, vertices) -> np.ndarray:
        """Select the sources inside the lasso polygon ``(V, 2)``; returns ids."""
        vertices = np.asarray(vertices, dtype=np.float64)
        rows = self.data.select_polygon(vertices)
        geometry = {"kind": "lasso", "coords": vertices.tolist()}
        return self._set_selection(rows, geometry)

    def select_ids(self, ids, geometry: dict | None = None) -> np.ndarray:
        """Select the given source ids (e.g. a saved cluster)."""
        rows = np.sort(self.data.rows_of(ids))
        return self._set_selection(rows, geometry)

    def _set_selection(self, rows: np.ndarray, geometry: dict | None) -> np.ndarray:
        ids = self.data.ids[rows]
        self.param.update(selection_ids=ids, selection_geometry=geometry, page=0)
        return ids

    def clear_selection(self) -> None:
        """Empty the selection."""
        self.param.update(
            selection_ids=np.zeros(0, dtype=np.int64), selection_geometry=None, page=0
        )

    @property
    def selection_rows(self) -> np.ndarray:
        """Rows of the selected sources, ascending."""
        if len(self.selection_ids) == 0:
            return np.zeros(0, dtype=np.int64)
        return np.sort(self.data.rows_of(self.selection_ids))

    # ---------------------------------------------------------------- grid
    def ordered_selection(self) -> np.ndarray:
        """Selected ids in grid order (``sort_key``, ``sort_descending``)."""
        rows = self.data.order(self.selection_rows, self.sort_key, self.sort_descending)
        return self.data.ids[rows]

    @param.depends("sort_key", watch=True)
    def _on_sort_key(self) -> None:
        # a new key starts in its natural direction and on page 1
        descending = mapdata.natural_descending(self.sort_key)
        self.param.update(sort_descending=descending, page=0)

    @param.depends("sort_descending", watch=True)
    def _on_sort_direction(self) -> None:
        self.page = 0

    def page_ids(self, per_page: int = PER_PAGE) -> tuple[np.ndarray, int]:
        """Ids on the current grid page and the number of pages."""
        ordered = self.ordered_selection()
        sl, n_pages = mapdata.page_slice(len(ordered), self.page, per_page)
        return ordered[sl], n_pages

    # ------------------------------------------------------------- similar
    def query_similar(self, ids) -> None:
        """Start a new similarity query from ``ids`` (clears the feedback)."""
        ids = [int(i) for i in np.atleast_1d(ids)]
        self.param.update(similar_query_ids=ids, positives=[], negatives=[])

    def mark(self, source_id: int, label: str | None) -> None:
        """Mark ``source_id`` as ``"positive"``, ``"negative"`` or neither (None)."""
        source_id = int(source_id)
        positives = [i for i in self.positives if i != source_id]
        negatives = [i for i in self.negatives if i != source_id]
        if label == "positive":
            positives.append(source_id)
        elif label == "negative":
            negatives.append(source_id)
        elif label is not None:
            msg = f"label must be 'positive', 'negative' or None, got {label!r}"
            raise ValueError(msg)
        self.param.update(positives=positives, negatives=negatives)

    # -------------------------------------------------------- anomalies
    def top_anomalies(self, k: int | None = None) -> np.ndarray:
        """Rows of the ``k`` most anomalous sources (highest ``anomaly_score``)."""
        k = self.anomaly_k if k is None else int(k)
        table = self.data.table
        if "anomaly_score" not in table:
            return np.zeros(0, dtype=np.int64)
        scores = table["anomaly_score"].to_numpy(dtype=np.float64)
        scores = np.where(np.isnan(scores), -np.inf, scores)
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k] if k else np.zeros(0, np.int64)
        return top[np.lexsort((self.data.ids[top], -scores[top]))]

    # ---------------------------------------------------------------- url
    def url_query(self) -> dict[str, str]:
        """The URL-synced parameters as query strings (see :data:`URL_PARAMS`)."""
        import json

        out = {}
        for name, key in URL_PARAMS.items():
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, list):
                if not value and name == "rgb_bands":
                    continue
                out[key] = ",".join(value) if name == "rgb_bands" else json.dumps(value)
            else:
                out[key] = str(value)
        return out

    def apply_url_query(self, query: dict[str, str]) -> None:
        """Set the URL-synced parameters from query strings; bad values are ignored."""
        import json

        updates = {}
        for name, key in URL_PARAMS.items():
            if key not in query:
                continue
            raw = query[key]
            try:
                if name == "view":
                    value = [float(v) for v in json.loads(raw)]
                    if len(value) != 4 or not np.isfinite(value).all():
                        raise ValueError(raw)
                elif name == "percentile":
                    value = float(raw)
                    low, high = self.param.percentile.bounds
                    if not low <= value <= high:
                        raise ValueError(raw)
                elif name == "rgb_bands":
                    # the page URL holds JSON (Location.sync), a link may hold i,r,g
                    parts = json.loads(raw) if raw.startswith("[") else raw.split(",")
                    value = [str(b) for b in parts if b]
                    if len(value) != 3 or not set(value) <= set(self.store.bands):
                        raise ValueError(raw)
                else:
                    value = raw
                    if value not in self.param[name].objects:
                        raise ValueError(raw)
            except (ValueError, TypeError):
                log.warning("ignoring URL parameter %s=%r", key, raw)
                continue
            updates[name] = value
        if "version" in updates:
            self.version = updates.pop("version")
        self.param.update(**updates)

    def notify(self, level: str, text: str) -> None:
        """Show ``text`` to the user (views render it as a notification)."""
        log.log(logging.ERROR if level == "error" else logging.INFO, text)
        self.notification = {"level": level, "text": text}
