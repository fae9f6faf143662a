"""``latentsky bench analysis``: the analysis core, each figure next to its reference.

Sections (sizes from flags; the defaults are the targets of issue 5):

* ``tpcf`` -- TPCF score of ``--tpcf-n`` points: fast (analytic RR, grid DD)
  vs the reference (explicit randoms, KDTree), with the reference's
  bootstrap sigma. Target: >= 100x faster, |difference| <= sigma.
* ``map`` -- map of ``--map-n`` x 128-D: ours (FAISS graph, sample + place
  above 50 000) vs plain ``umap.UMAP().fit_transform``, trustworthiness
  (k=10) on a 5 000-point sample. Target: >= 2x faster, within 0.01.
* ``similar`` -- top-100 query in ``--similar-n`` x 128-D: per-query time and
  recall@100 against exact search, plus build time. Target: <= 20 ms, >= 0.95.
* ``anomaly`` -- k-NN graph + scores for ``--anomaly-n`` sources: total time
  and recall@10 of the graph on ``--recall-queries`` sources vs exact search.
* ``rare_kinds`` -- on the demo survey, share of rare kinds in the top 1 % by
  the default score vs IsolationForest on the embedding and on pixel PCA.
  Target: >= 10x the base rate and above every comparison.
* ``metrics`` -- Davies-Bouldin + TPCF of a ``--metrics-n`` selection.
  Target: <= 1 s together.

Big-N parts use clustered synthetic embeddings: a Gaussian mixture on the
unit sphere (:func:`sphere_mixture`).
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

SECTIONS = ("tpcf", "map", "similar", "anomaly", "rare_kinds", "metrics")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags of the analysis benchmark (``--out`` is added by the caller)."""
    add = parser.add_argument
    add("--sections", default=",".join(SECTIONS), help="comma-separated sections")
    add("--dim", type=int, default=128, help="embedding dimension (default 128)")
    add("--tpcf-n", type=int, default=20_000, help="TPCF points (default 20000)")
    add("--tpcf-boot", type=int, default=5, help="reference bootstrap resamples")
    add("--map-n", type=int, default=200_000, help="map sources (default 200000)")
    add("--similar-n", type=int, default=1_000_000, help="index size (default 1e6)")
    add("--queries", type=int, default=100, help="timed similarity queries")
    add("--anomaly-n", type=int, default=1_000_000, help="anomaly sources (1e6)")
    add(
        "--recall-queries",
        type=int,
        default=2000,
        help="sources whose k-NN graph rows are checked against exact search (2000)",
    )
    add("--metrics-n", type=int, default=100_000, help="selection size (1e5)")
    add(
        "--demo-store",
        default=None,
        help="store with a trained embedding version for rare_kinds (default: "
        "build a demo survey and use pixel PCA as the embedding)",
    )
    add("--demo-n", type=int, default=20_000, help="demo survey sources (20000)")
    add("--demo-size", type=int, default=64, help="demo cutout size in px (64)")
    add("--seed", type=int, default=0, help="random seed")


def sphere_mixture(
    n: int,
    dim: int = 128,
    n_clusters: int = 50,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Clustered unit vectors: a Gaussian mixture projected on the sphere.

    Cluster weights are Dirichlet-distributed, widths vary by a factor 3.

    Returns
    -------
    (ndarray (n, dim) float32, ndarray (n,) int labels)
    """
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_clusters, dim)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    weights = rng.dirichlet(np.full(n_clusters, 2.0))
    labels = rng.choice(n_clusters, n, p=weights)
    width = rng.uniform(0.04, 0.12, n_clusters).astype(np.float32)
    x = np.empty((n, dim), dtype=np.float32)
    for start in range(0, n, 100_000):
        lab = labels[start : start + 100_000]
        noise = rng.standard_normal((len(lab), dim), dtype=np.float32)
        x[start : start + len(lab)] = centres[lab] + width[lab, None] * noise
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x, labels


def _timed(fn, *args, **kwargs) -> tuple[Any, float]:
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - start


# --------------------------------------------------------------------- sections
def bench_tpcf(args: argparse.Namespace) -> dict[str, Any]:
    """Fast vs reference TPCF score on ``--tpcf-n`` points."""
    from explorer.analysis.tpcf import tpcf_score
    from explorer.bench.tpcf_reference import bootstrap_sigma, tpcf_score_reference

    x, _ = sphere_mixture(args.tpcf_n, args.dim, seed=args.seed)
    tpcf_score(x[:2000])  # warm caches (Sobol/angle grids, imports)
    fast_runs = [_timed(tpcf_score, x) for _ in range(3)]
    fast, fast_s = fast_runs[0][0], float(np.median([t for _, t in fast_runs]))
    ref, ref_s = _timed(tpcf_score_reference, x, seed=args.seed)
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


def _trustworthiness(x: np.ndarray, xy: np.ndarray, rows: np.ndarray) -> float:
    from sklearn.manifold import trustworthiness

    return float(trustworthiness(x[rows], xy[rows], n_neighbors=10, metric="cosine"))


def bench_map(args: argparse.Namespace) -> dict[str, Any]:
    """Our map vs plain UMAP on ``--map-n`` sources."""
    import warnings

    import umap

    from explorer.analysis.neighbors import SimilarityIndex
    from explorer.analysis.projection import MapProjector

    x, _ = sphere_mixture(args.map_n, args.dim, seed=args.seed + 1)
    rows = np.random.default_rng(args.seed).choice(
        len(x), min(5000, len(x)), replace=False
    )
    warm = sphere_mixture(2000, args.dim, seed=9)[0]  # compile numba kernels first
    MapProjector(n_epochs=5, seed=None).fit(warm)

    def ours():
        index = SimilarityIndex.build(x, np.arange(len(x)))
        knn = index.knn_graph(14)
        return MapProjector(seed=None).fit(x, knn)

    projector, ours_s = _timed(ours)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        umap.UMAP(n_epochs=5).fit_transform(warm)
        plain_xy, plain_s = _timed(umap.UMAP().fit_transform, x)
    t_ours = _trustworthiness(x, projector.embedding_, rows)
    t_plain = _trustworthiness(x, np.asarray(plain_xy), rows)
    return {
        "n": args.map_n,
        "dim": args.dim,
        "ours": {
            "seconds": ours_s,
            "trustworthiness": t_ours,
            "fit_rows": int(len(projector.fit_rows_)),
            "stages_s": projector.timings_,
        },
        "plain_umap": {"seconds": plain_s, "trustworthiness": t_plain},
        "speedup": plain_s / ours_s,
        "targets": {
            "speedup>=2": plain_s / ours_s >= 2,
            "trust_within_0.01": t_ours >= t_plain - 0.01,
        },
    }


def bench_similar(args: argparse.Namespace) -> dict[str, Any]:
    """Per-query latency and recall@100 of the auto index vs exact search."""
    import faiss

    from explorer.analysis.neighbors import SimilarityIndex

    x, _ = sphere_mixture(args.similar_n, args.dim, seed=args.seed + 2)
    ids = np.arange(len(x))
    index, build_s = _timed(SimilarityIndex.build, x, ids)
    queries = np.random.default_rng(args.seed).choice(
        len(x), args.queries, replace=False
    )
    latencies, found = [], []
    for q in queries:
        res, dt = _timed(index.similar, [q], 100)
        latencies.append(dt)
        found.append(res["id"].to_numpy())
    exact = faiss.IndexFlatIP(args.dim)
    exact.add(index.vectors)
    (_, truth), exact_s = _timed(exact.search, index.vectors[queries], 101)
    exact_per_query = exact_s / len(queries)
    recall = np.mean(
        [
            len(set(f) & (set(t) - {q})) / 100
            for f, t, q in zip(found, truth, queries, strict=True)
        ]
    )
    ms = 1000 * np.asarray(latencies)
    return {
        "n": args.similar_n,
        "dim": args.dim,
        "index": index.index_info,
        "build_s": build_s,
        "query_ms": {
            "median": float(np.median(ms)),
            "mean": float(ms.mean()),
            "p95": float(np.percentile(ms, 95)),
        },
        "exact_query_ms_batched": 1000 * exact_per_query,
        "recall_at_100": float(recall),
        "targets": {
            "median_ms<=20": float(np.median(ms)) <= 20,
            "recall>=0.95": recall >= 0.95,
        },
    }


def bench_anomaly(args: argparse.Namespace) -> dict[str, Any]:
    """k-NN graph + density scores of ``--anomaly-n`` sources, graph recall@10."""
    from explorer.analysis import anomaly
    from explorer.analysis.neighbors import SimilarityIndex, graph_plan

    k = anomaly.K_NEIGHBOURS
    x, _ = sphere_mixture(args.anomaly_n, args.dim, seed=args.seed + 3)
    index, build_s = _timed(SimilarityIndex.build, x, np.arange(len(x)))
    (knn_rows, knn_d), graph_s = _timed(index.knn_graph, k)
    table, score_s = _timed(anomaly.score_table, knn_rows, knn_d)
    recall, recall_s = _timed(
        graph_recall, index.vectors, knn_rows, args.recall_queries, args.seed
    )
    return {
        "n": args.anomaly_n,
        "dim": args.dim,
        "index": index.index_info,
        "index_build_s": build_s,
        "knn_graph": graph_plan(args.anomaly_n, k),
        "knn_graph_s": graph_s,
        "scores_s": score_s,
        "total_s": build_s + graph_s + score_s,
        "knn_graph_recall_at_10": recall,
        "recall_queries": min(args.recall_queries, args.anomaly_n),
        "recall_s": recall_s,
        "method": table.attrs["anomaly_method"],
        "note": "embedding scores only (knn_distance, lof): no cutouts here; "
        "recall@10 of the graph rows of random sources vs exact IndexFlatIP",
        "targets": {
            "recall>=0.9": recall >= 0.9,
            "total<=180s": build_s + graph_s + score_s <= 180,
        },
    }


def graph_recall(
    vectors: np.ndarray, rows: np.ndarray, n_queries: int, seed: int = 0
) -> float:
    """Recall@k of k-NN graph ``rows`` on random sources vs exact search.

    Parameters
    ----------
    vectors : ndarray
        ``(N, D)`` float32 unit vectors the graph was built on.
    rows : ndarray
        ``(N, k)`` neighbour row numbers (itself excluded).
    n_queries : int
        Sources checked (drawn without replacement, at most N).
    seed : int
        Seed of the draw.

    Returns
    -------
    float
        Mean share of each checked source's exact ``k`` nearest neighbours
        (itself excluded; exact ``IndexFlatIP``) found in its graph row.
    """
    import faiss

    n, k = rows.shape
    probe = np.random.default_rng(seed).choice(n, min(n_queries, n), replace=False)
    exact = faiss.IndexFlatIP(vectors.shape[1])
    exact.add(np.ascontiguousarray(vectors, dtype=np.float32))
    _, truth = exact.search(np.ascontiguousarray(vectors[probe]), k + 1)
    hits = [
        len(set(rows[p].tolist()) & (set(t.tolist()) - {p})) / k
        for p, t in zip(probe, truth, strict=True)
    ]
    return float(np.mean(hits))


def _demo_store(args: argparse.Namespace) -> tuple[Any, np.ndarray, str]:
    """The store and embedding used for rare_kinds, and what that embedding is."""
    from explorer.store import Store

    if args.demo_store:
        store = Store.open(args.demo_store)
        version = store.current_version
        if version is not None:
            return store, np.asarray(store.embeddings(version)), f"version {version}"
    else:
        import tempfile

        from explorer.ingest.synthetic import iter_survey

        name = f"latentsky-bench-demo-{args.demo_n}-{args.demo_size}-{args.seed}"
        root = Path(tempfile.gettempdir()) / name  # cached between runs
        if root.exists():
            store = Store.open(root)
        else:
            with Store.build(root, ["g", "r", "z"], args.demo_size) as builder:
                for cube, cat in iter_survey(
                    args.demo_n, size=args.demo_size, seed=args.seed, batch=1024
                ):
                    builder.append(cube, cat)
            store = builder.store
    from explorer.analysis.features import pixel_pca

    emb = pixel_pca(store, 64, "standardise", progress=False)
    return store, emb, "stand-in: pixel PCA-64 (per-pixel standardised)"


def bench_rare_kinds(args: argparse.Namespace) -> dict[str, Any]:
    """Share of rare kinds in the top 1 % by each anomaly score."""
    from explorer.analysis import anomaly
    from explorer.analysis.features import pixel_pca
    from explorer.analysis.neighbors import SimilarityIndex
    from explorer.ingest.synthetic import RARE_KINDS

    store, emb, what = _demo_store(args)
    labels = store.catalog["_truth_label"].astype(str).to_numpy()
    rare = np.isin(labels, sorted(RARE_KINDS))
    pixel = pixel_pca(store, 64, "asinh", progress=False)
    knn = SimilarityIndex.build(emb, store.ids).knn_graph(anomaly.K_NEIGHBOURS)
    table = anomaly.score_table(*knn, pixel_features=pixel)
    scores = {c: table[c].to_numpy() for c in anomaly.SCORES}
    scores["isolation_forest_embedding"] = anomaly.isolation_forest_score(emb)
    scores["isolation_forest_pixel_pca"] = anomaly.isolation_forest_score(pixel)
    shares = {name: anomaly.top_share(s, rare, 0.01) for name, s in scores.items()}
    per_kind = {
        name: {
            k: float(
                np.mean(labels[np.argsort(-s, kind="stable")[: len(s) // 100]] == k)
            )
            for k in sorted(RARE_KINDS)
        }
        for name, s in scores.items()
    }
    default = table.attrs["anomaly_method"]
    others = [v for k, v in shares.items() if k.startswith("isolation_forest")]
    return {
        "n": store.n_sources,
        "embedding": what,
        "base_rate": float(rare.mean()),
        "top1pct_share": shares,
        "top1pct_share_by_kind": per_kind,
        "default": default,
        "targets": {
            "default>=10x_base": shares[default] >= 10 * rare.mean(),
            "default_above_isolation_forests": shares[default] > max(others),
        },
    }


def bench_metrics(args: argparse.Namespace) -> dict[str, Any]:
    """Davies-Bouldin + TPCF of a ``--metrics-n`` selection."""
    from explorer.analysis.metrics import davies_bouldin, tpcf_score

    x, labels = sphere_mixture(
        args.metrics_n, args.dim, n_clusters=8, seed=args.seed + 4
    )
    tpcf_score(x[:2000])
    db, db_s = _timed(davies_bouldin, x, labels)
    tp, tp_s = _timed(tpcf_score, x)
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


def run(args: argparse.Namespace) -> Path:
    """Run the selected sections and write ``analysis-<date>.json`` under ``--out``."""
    from explorer.bench import write_result

    chosen = [s.strip() for s in args.sections.split(",") if s.strip()]
    unknown = set(chosen) - set(SECTIONS)
    if unknown:
        from explorer.errors import LatentskyError

        msg = f"unknown benchmark sections {sorted(unknown)} (choose from {SECTIONS})"
        raise LatentskyError(msg)
    results: dict[str, Any] = {}
    path = None
    for name in chosen:
        log.info("bench analysis: %s", name)
        results[name], seconds = _timed(globals()[f"bench_{name}"], args)
        results[name]["section_s"] = seconds
        log.info("%s: %s", name, _plain(results[name]))
        # Written after every section so a long run keeps what it measured.
        path = write_result("analysis", _plain(results), args.out)
    return path


def _plain(value: Any) -> Any:
    """``value`` with numpy scalars/arrays turned into JSON-ready Python values."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value
