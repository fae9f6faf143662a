"""``tpcf`` section: fast TPCF score vs the KDTree reference with bootstrap sigma."""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

from explorer.bench.analysis.data import sphere_mixture, timed


def bench_tpcf(args: argparse.Namespace) -> dict[str, Any]:
    """Fast vs reference TPCF score on ``--tpcf-n`` points."""
    from explorer.analysis.tpcf import tpcf_score
    from explorer.bench.tpcf_reference import bootstrap_sigma, tpcf_score_reference

    x, _ = sphere_mixture(args.tpcf_n, args.dim, seed=args.seed)
    tpcf_score(x[:2000])  # warm caches (Sobol/angle grids, imports)
    fast_runs = [timed(tpcf_score, x) for _ in range(3)]
    fast, fast_s = fast_runs[0][0], float(np.median([t for _, t in fast_runs]))
    ref, ref_s = timed(tpcf_score_reference, x, seed=args.seed)
    sigma, scores = bootstrap_sigma(x, n_boot=args.tpcf_boot, seed=args.seed)
    diff = abs(fast.score - ref.score)
    return {
        "n": args.tpcf_n,
        "dim": args.dim,
        "fast": {"score": fast.score, "sigma_paper": fast.sigma, "seconds": fast_s},
        "reference": {
            "score": ref.score,
            "sigma_paper": ref.sigma,
            "seconds": ref_s,
            "n_random": args.tpcf_n,
            "bootstrap_sigma": sigma,
            "bootstrap_scores": scores.tolist(),
        },
        "speedup": ref_s / fast_s,
        "abs_difference": diff,
        "targets": {
            "speedup>=100": ref_s / fast_s >= 100,
            "diff<=bootstrap_sigma": diff <= sigma,
        },
    }
