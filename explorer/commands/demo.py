"""From a bare machine to the dashboard: demo survey -> store -> encoder -> map.

Steps (each skipped when its output already exists):

1. write the synthetic demo survey (``explorer.ingest.synthetic``) to a temporary
   FITS file and ingest it into ``--store``;
2. with ``--train``, train a small SimCLR encoder on it (the settings of the
   shipped checkpoint, ``assets/encoder-demo.json``); otherwise use the shipped
   ``assets/encoder-demo.pt``, which ``latentsky train`` produced on this survey;
3. embed every cutout as version ``v1`` (map, similarity index, anomaly scores);
4. replace this process with ``latentsky serve STORE --port PORT``.

Example::

    latentsky demo --store demo_store --n 20000 --port 5006
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

NAME = "demo"
HELP = "build the demo store, embed it and serve the dashboard"

log = logging.getLogger(__name__)

#: The shipped checkpoint and its record (config + the command that made it).
ASSETS = Path(__file__).resolve().parents[2] / "assets"
DEMO_CHECKPOINT = ASSETS / "encoder-demo.pt"
DEMO_RECORD = ASSETS / "encoder-demo.json"
VERSION = "v1"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--store", default="demo_store", help="store directory to build/use"
    )
    parser.add_argument(
        "--n", type=int, default=20000, help="sources in the demo survey"
    )
    parser.add_argument("--port", type=int, default=5006, help="dashboard port")
    parser.add_argument(
        "--train",
        action="store_true",
        help="train the encoder here instead of using the shipped one",
    )
    parser.add_argument(
        "--epochs",
        type=int,
        default=None,
        help="epochs with --train (default: as the shipped checkpoint)",
    )
    parser.add_argument(
        "--device", default="auto", help="auto (cuda > cpu), cpu or cuda"
    )
    parser.add_argument(
        "--no-serve",
        action="store_true",
        help="stop after embedding (print the serve command)",
    )


def _build_store(store: Path, n: int) -> None:
    import tempfile

    from explorer.ingest import ingest
    from explorer.ingest.synthetic import write_demo_survey

    with tempfile.TemporaryDirectory(prefix="latentsky-demo-") as tmp:
        fits_path = Path(tmp) / "demo_survey.fits"
        log.info("step 1/4: writing the demo survey (%d sources) to %s", n, fits_path)
        write_demo_survey(fits_path, n, size=64, seed=0, progress=True)
        log.info("step 1/4: ingesting into %s", store)
        ingest(fits_path, store)


def _train(store: Path, epochs: int | None, device: str) -> Path:
    import json

    from models.config import TrainConfig
    from models.train import train

    record = json.loads(DEMO_RECORD.read_text()) if DEMO_RECORD.exists() else {}
    config = TrainConfig.from_dict(record.get("config", {})).replace(epochs=epochs)
    out = store.parent / f"{store.name}-encoder.pt"
    log.info(
        "step 2/4: training %s (%d epochs) -> %s", config.method, config.epochs, out
    )
    train(store, out, config, device=device, resume=True)
    return out


def run(args: argparse.Namespace) -> int:
    import os
    import shutil
    import sys

    from explorer.errors import LatentskyError
    from explorer.store import Store, is_store

    store_path = Path(args.store)
    if is_store(store_path):
        log.info("step 1/4: using existing store %s", store_path)
    else:
        _build_store(store_path, args.n)
    store = Store.open(store_path)

    if args.train:
        checkpoint = _train(store_path, args.epochs, args.device)
    else:
        if not DEMO_CHECKPOINT.exists():
            msg = f"shipped checkpoint {DEMO_CHECKPOINT} is missing: run with --train"
            raise LatentskyError(msg)
        checkpoint = DEMO_CHECKPOINT
        log.info("step 2/4: using the shipped encoder %s", checkpoint)

    if VERSION in store.versions:
        log.info("step 3/4: version %s already exists, not re-embedding", VERSION)
    else:
        from models.embed import embed_store

        log.info(
            "step 3/4: embedding %d sources as version %s", store.n_sources, VERSION
        )
        embed_store(store, checkpoint, VERSION, device=args.device)

    command = ["latentsky", "serve", str(store_path), "--port", str(args.port)]
    serve_available = (
        Path(__file__).resolve().parents[2] / "explorer" / "commands" / "serve.py"
    ).exists()
    if args.no_serve or not serve_available:
        print("next: " + " ".join(command))
        return 0
    log.info("step 4/4: %s", " ".join(command))
    sys.stdout.flush()
    sys.stderr.flush()
    exe = shutil.which("latentsky")
    if exe:
        os.execv(exe, command)
    os.execv(sys.executable, [sys.executable, "-m", "explorer.cli", *command[1:]])
    return 0  # pragma: no cover - exec does not return
