"""Dashboard views: each a ``pn.viewable.Viewer`` taking the session's
:class:`~explorer.app.state.AppState`; they never talk to each other."""
