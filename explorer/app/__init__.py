"""The latentsky dashboard (Panel): one :class:`~explorer.app.state.AppState`
per browser session, views that render from it, served by ``latentsky serve``.

Only this package imports Panel. ``data``, ``scores`` and ``upload`` hold the
server-side logic (point lookup, selection, metrics, FITS uploads) as plain
numpy so that it is tested without a server.
"""
