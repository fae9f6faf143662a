"""Health of a store: a quick check for every open, a deep one on demand, and
repair of what killed writers left behind (``latentsky check``)."""

from explorer.store.health.deep import deep_check
from explorer.store.health.quick import (
    Problem,
    prepare_to_use,
    quick_check,
    require_healthy,
)
from explorer.store.health.repair import leftovers, repair, stale_leftovers

__all__ = [
    "Problem",
    "deep_check",
    "leftovers",
    "prepare_to_use",
    "quick_check",
    "repair",
    "require_healthy",
    "stale_leftovers",
]
