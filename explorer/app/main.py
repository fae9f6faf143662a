"""The latentsky dashboard: lays out the views on one :class:`AppState`.

Served by ``latentsky serve STORE`` (which sets ``LATENTSKY_STORE``); also
``panel serve explorer/app/main.py --args STORE``. Importing this module
builds nothing; :func:`create_app` makes one session's page.
"""

from __future__ import annotations

import html
import os
import sys

import holoviews as hv
import panel as pn

from explorer.app.offline import TEMPLATE_OPTIONS
from explorer.app.services.busy import attach as attach_busy
from explorer.app.services.pool import in_session
from explorer.app.state import URL_PARAMS, AppState
from explorer.app.views.anomalies import AnomalyView
from explorer.app.views.clusters import ClustersView
from explorer.app.views.controls import ControlsView
from explorer.app.views.cutout import CutoutView
from explorer.app.views.grid import GridView
from explorer.app.views.inspector import InspectorView
from explorer.app.views.jobs import JobsView
from explorer.app.views.map import MapView
from explorer.app.views.metrics import MetricsView
from explorer.app.views.samp import ShareView
from explorer.app.views.similar import SimilarView
from explorer.app.views.sky import SkyView
from explorer.errors import LatentskyError
from explorer.store import Store

STORE_ENV = "LATENTSKY_STORE"
VERSION_ENV = "LATENTSKY_VERSION"
ACCENT = "#7df9ff"

_CSS = """
:host { --accent-fill-rest: #1f6feb; }
.bk-panel-models-layout-Column { }
"""


def extension() -> None:
    """Load Panel/HoloViews extensions (dark theme, notifications)."""
    hv.extension("bokeh", logo=False)
    pn.extension(notifications=True, theme="dark", raw_css=[_CSS])


def store_path() -> str:
    """Store directory from ``LATENTSKY_STORE`` or the first script argument."""
    path = os.environ.get(STORE_ENV) or (sys.argv[1] if len(sys.argv) > 1 else "")
    if not path:
        msg = f"no store given: set {STORE_ENV} or run `latentsky serve STORE`"
        raise LatentskyError(msg)
    return path


def _notifier(state: AppState):
    def show(event):
        note = event.new
        if not note or pn.state.notifications is None:
            return
        level = note.get("level", "info")
        if level not in ("error", "warning", "info", "success"):
            level = "info"
        getattr(pn.state.notifications, level)(note["text"], duration=8000)

    state.param.watch(show, "notification")


def damaged_versions(store: Store) -> dict[str, str]:
    """Versions of ``store`` that cannot be shown, and why (the quick check).

    A damaged store file is left to ``latentsky serve`` (it refuses to start);
    here only versions are left out, so one broken version never breaks a page.
    """
    from explorer.store.health import quick_check

    damaged = dict(store.damaged)
    try:
        problems = quick_check(store.root)
    except LatentskyError:
        return damaged
    for problem in problems:
        if problem.version is not None:
            damaged.setdefault(problem.version, str(problem))
    return damaged


def _healthy_version(
    store: Store, version: str | None, damaged: dict[str, str]
) -> str | None:
    """``version`` (or the current one) unless damaged, else the newest healthy."""
    healthy = [v for v in store.versions if v not in damaged]
    wanted = version or store.current_version
    if wanted in healthy:
        return wanted
    return healthy[-1] if healthy else None


def _damage_notice(damaged: dict[str, str]) -> pn.pane.HTML | None:
    """A sidebar notice naming each damaged version left out of the selector."""
    if not damaged:
        return None
    items = "".join(
        f"<li>version <b>{html.escape(v)}</b> left out: {html.escape(why)}</li>"
        for v, why in damaged.items()
    )
    return pn.pane.HTML(
        f"<ul style='color:#f0a020;padding-left:14px'>{items}</ul>",
        css_classes=["damaged-versions"],
        sizing_mode="stretch_width",
    )


def create_app(
    store: Store | str, version: str | None = None, *, sync_url: bool = True
) -> pn.template.FastListTemplate:
    """Build one session's page.

    Parameters
    ----------
    store : Store or path
        The store to explore.
    version : str, optional
        Version shown first (default the store's current one, or the URL's).
    sync_url : bool
        Mirror version, colour field and view in the page URL.
    """
    if not isinstance(store, Store):
        store = Store.open(store)
    damaged = damaged_versions(store)
    version = _healthy_version(store, version, damaged)
    state = AppState(store, **({"version": version} if version else {}))
    if damaged:
        state.param.version.objects = [v for v in store.versions if v not in damaged]
    if sync_url and pn.state.location is not None:
        query = {
            k: v[0].decode() for k, v in (pn.state.session_args or {}).items() if v
        }
        state.apply_url_query(query)
        pn.state.location.sync(state, URL_PARAMS)
    _notifier(state)
    for name, why in damaged.items():
        state.notify("warning", f"version {name!r} is damaged and left out: {why}")

    if in_session(pn.state.curdoc):
        # what the page shows first; hidden tabs catch up when opened
        state.shown_tab = "Selection"
    map_view = MapView(state)
    pages = [
        ("Selection", GridView(state)),
        ("Similar", SimilarView(state)),
        ("Anomalies", AnomalyView(state)),
        ("Clusters", ClustersView(state)),
        ("Re-embed", JobsView(state)),
        ("Inspector", InspectorView(state)),
        # built when first opened (most sessions never do): they only act on
        # clicks inside them, unlike the tabs above, which follow the state
        ("Sky", pn.param.ParamFunction(lambda: SkyView(state), lazy=True)),
        ("Export & SAMP", pn.param.ParamFunction(lambda: ShareView(state), lazy=True)),
    ]
    tabs = pn.Tabs(
        *pages,
        dynamic=True,
        sizing_mode="stretch_width",
    )
    names = [title for title, _ in pages]
    if state.shown_tab is not None:
        tabs.param.watch(lambda e: setattr(state, "shown_tab", names[e.new]), "active")
    # a click on a source opens the similar tab
    state.param.watch(
        lambda e: setattr(tabs, "active", 1) if e.new else None, "similar_query_ids"
    )
    # an inspected source opens the inspector tab
    state.param.watch(
        lambda e: setattr(tabs, "active", 5) if e.new is not None else None,
        "inspected_id",
    )

    template = pn.template.FastListTemplate(
        title=f"latentsky · {store.root.name}",
        theme="dark",
        accent=ACCENT,
        sidebar_width=240,
        header_background="#0d1117",
        main_layout=None,
        # Panel's indicator follows the global busy state: every event of any
        # session would be pushed to every page (explorer.app.services.busy)
        busy_indicator=None,
        **TEMPLATE_OPTIONS,
    )
    busy = attach_busy(pn.state.curdoc) if in_session(pn.state.curdoc) else None
    if busy is not None:
        template.header.append(busy.indicator)
    template.sidebar.append(ControlsView(state))
    notice = _damage_notice(damaged)
    if notice is not None:
        template.sidebar.append(notice)
    template.sidebar.append(pn.layout.Divider())
    template.sidebar.append(CutoutView(state))
    template.main.append(
        pn.Row(
            pn.Column(map_view, MetricsView(state), width=665),
            pn.Column(tabs, sizing_mode="stretch_width", min_width=380),
            sizing_mode="stretch_width",
        )
    )
    template.state = state  # for tests and debugging
    return template


if pn.state.served:
    extension()
    create_app(store_path(), os.environ.get(VERSION_ENV) or None).servable()
