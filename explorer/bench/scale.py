"""``latentsky bench scale``: a real store of N sources, end to end, per N.

For each ``N`` of ``--n`` (default 10 000, 100 000, 1 000 000) it runs the
real commands, each in its own child process, on a store it builds:

* ``generate``: ``latentsky demo-data`` (the demo survey, streamed to a FITS
  cube in batches of 256, ~1 600 sources/s at 32 px on one core);
* ``ingest``: ``latentsky ingest`` (the cube read a section at a time into
  Zarr chunks; the FITS file is deleted afterwards);
* ``embed``: ``latentsky embed --device cpu --no-analysis`` (embeddings
  written chunk by chunk into a memory-mapped ``embeddings.npy``);
* ``analyse``: ``latentsky analyse``, split into its pipeline's steps
  (``index``, ``knn_graph``, ``pixel_pca``, ``anomaly``, ``clusters``,
  ``map``, ``consistency``) by marks the child writes
  (:mod:`explorer.bench.scale_stage`);
* ``server_start``: a real ``latentsky serve``, spawn → first page fetched
  over HTTP (200), then ``page_fetch``: one more page (a new session);
* the interactive work of the UI benchmark (:mod:`explorer.bench.ui_server`)
  on this store: ``map_load`` (map + KD-tree), ``box_resolve`` and
  ``box_metrics`` for a box of 10 % of the sources, ``hover_nearest``; with
  ``--browser`` also the browser's ``first_paint``, ``zoom`` (median),
  ``hover`` (median) and ``box_grid`` / ``box_grid_metrics`` in headless
  chromium (:func:`explorer.bench.ui_browser.measure_browser`).

Every stage records wall time, peak RSS of its process tree
(:mod:`explorer.bench.scale_measure`) and ``os.getloadavg()`` before and
after, since the machine may be shared; the growth exponent of each stage is
the log-log slope over the sizes run (:mod:`explorer.bench.scale_fit`). The
demo encoder (``assets/encoder-demo.pt``) was trained on 64 px cutouts; at
any other ``--size`` (default 32) an encoder of the same network and input
crop (so the same cost per cutout) is first trained for ``--train-epochs`` on
a ``--train-n`` store of that size, and recorded apart, not as a stage.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from explorer.argtypes import int_at_least, positive_int
from explorer.bench.scale_fit import exponents, markdown_table
from explorer.bench.scale_measure import run_stage
from explorer.bench.scale_serve import measure_serving

log = logging.getLogger(__name__)

DEFAULT_NS = (10_000, 100_000, 1_000_000)
#: the stages in order; ``--until`` stops after one of them
STAGES = ("generate", "ingest", "embed", "analyse", "serve")
DEMO_ENCODER = Path(__file__).resolve().parents[2] / "assets" / "encoder-demo.pt"
#: cutout side the demo encoder was trained on
DEMO_ENCODER_SIZE = 64
#: the demo encoder's training flags (assets/encoder-demo.json), but epochs
ENCODER_FLAGS = ["--crop", "32", "--arch", "cnn", "--threads", "2", "--slim"]


def _sizes(text: str) -> list[int]:
    """``--n 10000,100000`` as a sorted list of distinct positive ints."""
    try:
        ns = sorted({int(part.replace("_", "")) for part in text.split(",") if part})
    except ValueError:
        msg = f"--n expects comma-separated source counts, got {text!r}"
        raise argparse.ArgumentTypeError(msg) from None
    if not ns or ns[0] < 50:
        msg = f"--n expects counts of at least 50 sources, got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return ns


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags of the scale benchmark (``--out`` is added by the dispatcher)."""
    parser.add_argument(
        "--n",
        type=_sizes,
        default=list(DEFAULT_NS),
        help="comma-separated source counts (default 10000,100000,1000000)",
    )
    parser.add_argument(
        "--size", type=int_at_least(16), default=32, help="cutout side (default 32)"
    )
    parser.add_argument("--seed", type=int, default=0, help="survey seed (default 0)")
    parser.add_argument(
        "--checkpoint",
        default=None,
        help="encoder checkpoint for this --size (default: the demo encoder at "
        "64 px, else one trained first with its settings)",
    )
    parser.add_argument(
        "--train-n", type=positive_int, default=2000, help="sources to train on"
    )
    parser.add_argument(
        "--train-epochs", type=positive_int, default=1, help="epochs to train"
    )
    parser.add_argument(
        "--map",
        dest="map_method",
        choices=("umap", "tsne", "pca"),
        default="umap",
        help="map method of the analysis (default umap)",
    )
    parser.add_argument(
        "--until",
        choices=STAGES,
        default="serve",
        help="stop after this stage (default serve: all of them)",
    )
    parser.add_argument(
        "--browser", action="store_true", help="also measure in headless chromium"
    )
    parser.add_argument(
        "--stage-timeout",
        type=positive_int,
        default=None,
        help="kill a stage after this many seconds (recorded as failed)",
    )
    parser.add_argument(
        "--work", default=None, help="folder for the stores (default: a temp dir)"
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep each store after its run"
    )


def _encoder(args: argparse.Namespace, work: Path) -> tuple[Path, dict[str, Any]]:
    """The checkpoint to embed with, and how it came about."""
    if STAGES.index(args.until) < STAGES.index("embed"):
        return Path(), {"checkpoint": None}
    if args.checkpoint:
        return Path(args.checkpoint), {"checkpoint": args.checkpoint}
    if args.size == DEMO_ENCODER_SIZE:
        return DEMO_ENCODER, {"checkpoint": "assets/encoder-demo.pt"}
    train = work / "train"
    train.mkdir(parents=True, exist_ok=True)
    fits, store, out = train / "train.fits", train / "store", train / "encoder.pt"
    steps = {
        "generate": ["demo-data", str(fits), "--n", str(args.train_n)],
        "ingest": ["ingest", str(fits), str(store), "--no-progress"],
        "train": ["train", str(store), "--out", str(out), "--device", "cpu"],
    }
    steps["generate"] += ["--size", str(args.size), "--seed", "99", "--no-progress"]
    steps["train"] += ["--epochs", str(args.train_epochs), *ENCODER_FLAGS]
    record = {
        "checkpoint": "trained by the benchmark (the demo encoder is 64 px only)",
        "train_n": args.train_n,
        "train_epochs": args.train_epochs,
        "flags": ENCODER_FLAGS,
    }
    for name, command in steps.items():
        stage = run_stage(f"encoder-{name}", command, train)
        record[f"{name}_s"] = stage["wall_s"]
        if not stage["ok"]:
            from explorer.errors import LatentskyError

            msg = f"training the {args.size} px encoder failed: {stage['error']}"
            raise LatentskyError(msg)
    return out, record


def _batch_commands(
    args: argparse.Namespace, n: int, folder: Path, checkpoint: Path
) -> dict[str, list[str]]:
    """The ``latentsky`` arguments of each batch stage for ``n`` sources."""
    fits, store = folder / "survey.fits", folder / "store"
    return {
        "generate": [
            "demo-data",
            str(fits),
            *("--n", str(n), "--size", str(args.size), "--seed", str(args.seed)),
            "--no-progress",
        ],
        "ingest": ["ingest", str(fits), str(store), "--no-progress"],
        "embed": [
            "embed",
            str(store),
            *("--checkpoint", str(checkpoint), "--version", "v1"),
            *("--device", "cpu", "--no-analysis"),
        ],
        "analyse": ["analyse", str(store), "--no-progress"]
        + ["--map", args.map_method],
    }


def run_size(
    args: argparse.Namespace,
    run: dict[str, Any],
    work: Path,
    checkpoint: Path,
    save: Callable[[], object],
) -> None:
    """Build, analyse and serve a store of ``run["n"]`` sources.

    Each stage's record goes into ``run["stages"]`` and ``save()`` is called
    after it, so a run stopped from outside keeps what it measured. Stops at
    the first stage that fails (its record says why), since the later ones
    need its files; ``run["completed"]`` is set at the end.
    """
    n = run["n"]
    folder = work / f"n{n}"
    folder.mkdir(parents=True, exist_ok=True)
    stages: dict[str, dict[str, Any]] = run["stages"]
    last = STAGES.index(args.until)
    commands = _batch_commands(args, n, folder, checkpoint)
    for name in STAGES[: last + 1]:
        if name not in commands:
            continue
        record = run_stage(name, commands[name], folder, args.stage_timeout)
        steps = record.pop("steps")
        stages[name] = record
        for step, figures in steps.items():  # the analysis pipeline's steps
            stages[step] = {**figures, "part_of": name}
        if name == "ingest":
            (folder / "survey.fits").unlink(missing_ok=True)
        if not record["ok"]:
            log.warning("N=%d: stage %s failed: %s", n, name, record["error"])
            run["failed_stage"] = name
            save()
            return
        save()
    store = folder / "store"
    run["store_disk_mib"] = round(
        sum(p.stat().st_size for p in store.rglob("*") if p.is_file()) / 2**20, 1
    )
    if args.until == "serve":
        stages.update(measure_serving(store, folder, n // 10, args.browser))
    run["completed"] = True
    save()


def _workload(args: argparse.Namespace) -> str:
    return (
        "real stores built by the commands: the synthetic demo survey (preset "
        f"demo, seed {args.seed}), {args.size} px x 3 bands, float32; embeddings "
        "of the default CPU encoder (plain CNN, --arch cnn); "
        f"{args.map_method} map; box = 10 % of N"
    )


def _write(
    args: argparse.Namespace, encoder: dict[str, Any], runs: list[dict[str, Any]]
) -> Path:
    """Write the JSON record and the Markdown table of the runs so far."""
    import os

    from explorer.bench import environment, write_result
    from explorer.store import atomic

    env = environment(f"cpu ({os.cpu_count()} cores)")
    done = [r for r in runs if r["completed"]]
    results = {
        "ns_requested": list(args.n),
        "ns_run": [r["n"] for r in done],
        "cutout_size": args.size,
        "bands": 3,
        "workload": _workload(args),
        "machine_shared": True,
        "encoder": encoder,
        "browser": args.browser,
        "until": args.until,
        "runs": runs,
        "exponents": exponents(done),
        "date": env["date"][:10],
        "machine": f"{env['cores']} cores, {env['memory_gib']} GiB",
    }
    path = write_result("scale", results, args.out, device=env["device"])
    atomic.write_bytes(path.with_suffix(".md"), markdown_table(results).encode())
    return path


def run(args: argparse.Namespace) -> Path:
    """Run the benchmark; write ``scale-<date>.json`` and ``scale-<date>.md``."""
    logging.basicConfig(level=logging.INFO)
    temp = None if args.work else Path(tempfile.mkdtemp(prefix="latentsky-scale-"))
    work = Path(args.work) if args.work else temp
    try:
        checkpoint, encoder = _encoder(args, work)
        runs: list[dict[str, Any]] = []
        for n in args.n:
            runs.append({"n": n, "stages": {}, "completed": False})
            run_size(
                args, runs[-1], work, checkpoint, lambda: _write(args, encoder, runs)
            )
            if not args.keep:
                shutil.rmtree(work / f"n{n}" / "store", ignore_errors=True)
            if not runs[-1]["completed"]:
                break  # a larger N would fail the same stage
        return _write(args, encoder, runs)
    finally:
        if temp is not None:
            shutil.rmtree(temp, ignore_errors=True)
