"""``metrics`` section: Davies-Bouldin + TPCF of a large selection."""

from __future__ import annotations

import argparse
from typing import Any

from explorer.bench.analysis.data import sphere_mixture, timed


def bench_metrics(args: argparse.Namespace) -> dict[str, Any]:
    """Davies-Bouldin + TPCF of a ``--metrics-n`` selection."""
    from explorer.analysis.metrics import davies_bouldin, tpcf_score

    x, labels = sphere_mixture(
        args.metrics_n, args.dim, n_clusters=8, seed=args.seed + 4
    )
    tpcf_score(x[:2000])
    db, db_s = timed(davies_bouldin, x, labels)
    tp, tp_s = timed(tpcf_score, x)
    return {
        "n": args.metrics_n,
        "dim": args.dim,
        "davies_bouldin": db.value,
        "davies_bouldin_s": db_s,
        "tpcf_score": tp.score,
        "tpcf_sigma": tp.sigma,
        "tpcf_s": tp_s,
        "total_s": db_s + tp_s,
        "targets": {"total<=1s": db_s + tp_s <= 1.0},
    }
