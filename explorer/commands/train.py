"""Train a self-supervised encoder (SimCLR or BYOL) on a store's cutouts.

The checkpoint is rewritten atomically after every epoch, so Ctrl-C keeps the
last complete epoch; ``--resume`` continues from it (up to ``--epochs``).

Example::

    latentsky train demo_store --out ckpt.pt --epochs 10 --width 16
"""

from __future__ import annotations

import argparse

NAME = "train"
HELP = "train a self-supervised encoder (SimCLR/BYOL) on a store"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("store", help="store directory")
    parser.add_argument("--out", required=True, help="checkpoint file to write (.pt)")
    parser.add_argument(
        "--method",
        choices=("simclr", "byol"),
        default=None,
        help="self-supervised method (default simclr)",
    )
    parser.add_argument("--epochs", type=int, default=None, help="epochs (default 10)")
    parser.add_argument("--batch-size", type=int, default=None, help="default 256")
    parser.add_argument(
        "--temperature",
        type=float,
        default=None,
        help="NT-Xent temperature (default 0.2)",
    )
    parser.add_argument("--lr", type=float, default=None, help="peak learning rate")
    parser.add_argument("--optimizer", choices=("adamw", "lars"), default=None)
    parser.add_argument(
        "--width",
        type=int,
        default=None,
        help="ResNet width; h has 8 x width dimensions (default 64: 512)",
    )
    parser.add_argument(
        "--layers",
        default=None,
        help="blocks per stage, e.g. 2,2,2,2 (ResNet-18, default)",
    )
    parser.add_argument(
        "--crop",
        type=int,
        default=None,
        help="network input side in pixels (default 32)",
    )
    parser.add_argument("--workers", type=int, default=None, help="DataLoader readers")
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch CPU threads (default: torch's choice)",
    )
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument(
        "--device", default="auto", help="auto (cuda > cpu), cpu or cuda"
    )
    parser.add_argument(
        "--resume", action="store_true", help="continue from --out if it exists"
    )
    parser.add_argument(
        "--slim",
        action="store_true",
        help="leave the optimiser state out of the checkpoint (smaller)",
    )


def run(args: argparse.Namespace) -> int:
    from models.config import TrainConfig
    from models.train import train

    layers = [int(v) for v in args.layers.split(",")] if args.layers else None
    try:
        config = TrainConfig().replace(
            method=args.method,
            epochs=args.epochs,
            batch_size=args.batch_size,
            temperature=args.temperature,
            lr=args.lr,
            optimizer=args.optimizer,
            width=args.width,
            layers=layers,
            crop=args.crop,
            num_workers=args.workers,
            threads=args.threads,
            seed=args.seed,
        )
    except ValueError as exc:
        from models.train import TrainingError

        raise TrainingError(str(exc)) from exc
    result = train(
        args.store,
        args.out,
        config,
        device=args.device,
        resume=args.resume,
        slim=args.slim,
    )
    last = result["history"][-1] if result["history"] else {}
    print(
        f"wrote {result['checkpoint']} after {result['epochs']} epochs "
        f"(loss {last.get('loss', float('nan')):.4f}, device {result['device']})"
    )
    return 0
