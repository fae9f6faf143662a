"""Active anomaly hunting: the review queue learns what this user finds interesting.

No Panel, no torch: numpy (and the store) only, usable from a notebook.

- :mod:`~explorer.active.relevance`: :class:`RelevanceModel`, relevance
  propagated from labelled sources to their embedding neighbours, combined
  with the anomaly score, with an uncertainty; incremental per label;
- :mod:`~explorer.active.acquisition`: the exploit and explore orders;
- :mod:`~explorer.active.session`: a model built from a store version and its
  annotations (tags as labels);
- :mod:`~explorer.active.reapply`: a saved cluster re-made on a newer version,
  with who joined and who left.
"""

from __future__ import annotations

from explorer.active.acquisition import MODES, acquisition_order
from explorer.active.reapply import ReapplyReport, reapply_cluster
from explorer.active.relevance import LABEL_VALUES, RelevanceModel, anomaly_prior

__all__ = [
    "LABEL_VALUES",
    "MODES",
    "ReapplyReport",
    "RelevanceModel",
    "acquisition_order",
    "anomaly_prior",
    "reapply_cluster",
]
