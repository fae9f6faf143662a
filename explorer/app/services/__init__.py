"""Server-wide services shared by every session of the dashboard.

A session must never own a timer, a thread or a cache: a served page can be
closed at any moment. What the sessions of a server share is created once,
here, and bounded:

- :mod:`~explorer.app.services.watch`: :class:`StoreWatch`, one poller per
  store of the job progress and the annotation database, fanned out to the
  subscribed sessions (:func:`subscribe_session`);
- :mod:`~explorer.app.services.pool`: the thread pools for work too slow
  for the event loop (:func:`executor`, :func:`metrics_executor`,
  :func:`hover_executor`, :func:`run_off_loop`);
- :mod:`~explorer.app.services.busy`: each session's own busy spinner;
- :mod:`~explorer.app.services.caches`: the map tables (:func:`map_data`),
  cutout PNGs (:func:`cutout_images`) and similarity indexes
  (:func:`similarity_index`).
"""

from explorer.app.services.caches import (
    BoundedCache,
    cutout_images,
    map_data,
    similarity_index,
)
from explorer.app.services.pool import (
    executor,
    hover_executor,
    in_session,
    metrics_executor,
    run_off_loop,
)
from explorer.app.services.watch import (
    POLL_S,
    JobSnapshot,
    StoreWatch,
    store_watch,
    subscribe_session,
)

__all__ = [
    "POLL_S",
    "BoundedCache",
    "JobSnapshot",
    "StoreWatch",
    "cutout_images",
    "executor",
    "hover_executor",
    "in_session",
    "map_data",
    "metrics_executor",
    "run_off_loop",
    "similarity_index",
    "store_watch",
    "subscribe_session",
]
