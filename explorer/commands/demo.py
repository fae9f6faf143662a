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
import json
import logging
from pathlib import Path
from typing import Any

from explorer.argtypes import port, positive_int
from explorer.commands.options import (
    add_device_option,
    add_training_options,
    training_settings,
)

NAME = "demo"
HELP = "build the demo store, embed it and serve the dashboard"

log = logging.getLogger(__name__)

#: The shipped checkpoint and its record (config + the command that made it).
ASSETS = Path(__file__).resolve().parents[2] / "assets"
DEMO_CHECKPOINT = ASSETS / "encoder-demo.pt"
DEMO_RECORD = ASSETS / "encoder-demo.json"
VERSION = "v1"


def _record_config() -> dict[str, Any]:
    """The training config of the shipped checkpoint (empty if its record is gone)."""
    if not DEMO_RECORD.exists():
        return {}
    return dict(json.loads(DEMO_RECORD.read_text()).get("config", {}))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the flags of ``latentsky demo``."""
    parser.add_argument(
        "--store", default="demo_store", help="store directory to build/use"
    )
    parser.add_argument(
        "--n", type=positive_int, default=20000, help="sources in the demo survey"
    )
    parser.add_argument("--port", type=port, default=5006, help="dashboard port")
    parser.add_argument(
        "--train",
        action="store_true",
        help="train the encoder here instead of using the shipped one",
    )
    # --epochs (used with --train) defaults to the shipped checkpoint's
    epochs = _record_config().get("epochs")
    add_training_options(
        parser, only=("epochs",), defaults={} if epochs is None else {"epochs": epochs}
    )
    add_device_option(parser)
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


def _train(store: Path, args: argparse.Namespace) -> Path:
    from explorer.jobs.runner import train_encoder, training_defaults

    fields = training_defaults()
    # the record may carry keys of an older TrainConfig: keep the current ones
    settings = {k: v for k, v in _record_config().items() if k in fields}
    settings.update(training_settings(args))
    out = store.parent / f"{store.name}-encoder.pt"
    log.info(
        "step 2/4: training %s (%d epochs) -> %s",
        settings.get("method", fields["method"]),
        settings.get("epochs", fields["epochs"]),
        out,
    )
    return train_encoder(store, out, settings, device=args.device, resume=True)


def _checkpoint(store: Path, args: argparse.Namespace) -> Path:
    """Step 2: the encoder to embed with (trained here, or the shipped one)."""
    from explorer.errors import LatentskyError

    if args.train:
        return _train(store, args)
    if not DEMO_CHECKPOINT.exists():
        msg = f"shipped checkpoint {DEMO_CHECKPOINT} is missing: run with --train"
        raise LatentskyError(msg)
    log.info("step 2/4: using the shipped encoder %s", DEMO_CHECKPOINT)
    return DEMO_CHECKPOINT


def _embed(store_path: Path, checkpoint: Path, device: str) -> None:
    """Step 3: embed, analyse and publish version ``v1`` unless it exists."""
    from explorer.jobs.runner import embed_version
    from explorer.store import Store

    store = Store.open(store_path)
    if VERSION in store.versions:
        log.info("step 3/4: version %s already exists, not re-embedding", VERSION)
        return
    log.info("step 3/4: embedding %d sources as version %s", store.n_sources, VERSION)
    # one reader process, as the demo always embedded
    embed_version(store_path, checkpoint, VERSION, device=device, workers=1)


def _serve(command: list[str]) -> None:
    """Step 4: replace this process with ``latentsky serve`` (never returns)."""
    import os
    import shutil
    import sys

    log.info("step 4/4: %s", " ".join(command))
    sys.stdout.flush()
    sys.stderr.flush()
    exe = shutil.which("latentsky")
    if exe:
        os.execv(exe, command)
    os.execv(sys.executable, [sys.executable, "-m", "explorer.cli", *command[1:]])


def run(args: argparse.Namespace) -> int:
    """Build, embed and serve the demo (each step skipped when already done)."""
    from explorer.store import is_store

    store_path = Path(args.store)
    if is_store(store_path):
        log.info("step 1/4: using existing store %s", store_path)
    else:
        _build_store(store_path, args.n)
    _embed(store_path, _checkpoint(store_path, args), args.device)
    command = ["latentsky", "serve", str(store_path), "--port", str(args.port)]
    if args.no_serve:
        print("next: " + " ".join(command))
        return 0
    _serve(command)
    return 0  # pragma: no cover - exec does not return
