"""The latentsky dashboard (Panel): one :class:`~explorer.app.state.AppState`
per browser session, views that render from it, served by ``latentsky serve``.

Only this package imports Panel, Bokeh and HoloViews. Its rooms:

- ``state``: the session state (one ``param.Parameterized``);
- ``data``: the point table of a version (lookup, selection, ordering, the
  values of each colour field), plain numpy;
- ``services/``: what the sessions of a server share, each bounded: the store
  watch, the thread pool for slow work, the caches;
- ``render/``: cutout stretches and PNGs, the map render engine (datashader
  to RGBA, colour bars), without Panel;
- ``views/``: one ``pn.viewable.Viewer`` each, reading the state;
- ``upload``: uploaded FITS cutouts (checks, embedding through the job
  runner);
- ``main``: the page layout;
- ``client``: a Bokeh-protocol client of a served page (``bench load``).
"""
