"""Re-embed a store into a new version, headless (what the dashboard's
re-embed panel does).

Either embed with an existing checkpoint (``--checkpoint``, default the
checkpoint of the current version), or fine-tune the current encoder for
``--finetune-epochs N`` epochs first, optionally with saved clusters as extra
positive pairs (``--use-clusters`` for all, ``--clusters a,b`` for some) and
with the user's labels (``--use-labels``: the Similar tab's "+" marks as
positive pairs, its "-" marks as hard negatives, and sources tagged
interesting / artefact as positives of each other). The
new version gets a map aligned to the previous one and becomes current when
the job succeeds; a failed or cancelled job leaves the previous version
current. The job runs as a separate process with its state in
``STORE/jobs/``: in the foreground with a progress line (Ctrl-C cancels it),
or with ``--background`` (then ``--status`` / ``--cancel``).

Examples::

    latentsky reembed demo_store --checkpoint model.pt --device cpu
    latentsky reembed demo_store --finetune-epochs 3 --use-clusters --background
    latentsky reembed demo_store --finetune-epochs 2 --use-labels
    latentsky reembed demo_store --status
"""

from __future__ import annotations

import argparse
import sys

from explorer.commands.options import add_device_option, add_workers_option

NAME = "reembed"
HELP = "embed (or fine-tune, then embed) a store into a new version as a job"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("store", help="store directory")
    parser.add_argument(
        "--checkpoint",
        help="checkpoint to embed with (or fine-tune); default the current version's",
    )
    parser.add_argument(
        "--finetune-epochs", type=int, metavar="N", help="fine-tune N epochs first"
    )
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--use-clusters",
        action="store_true",
        help="fine-tune with every saved cluster as extra positives",
    )
    group.add_argument("--clusters", metavar="A,B", help="only these saved clusters")
    parser.add_argument(
        "--cluster-weight",
        type=float,
        default=1.0,
        help="weight of the cluster term (default 1)",
    )
    parser.add_argument(
        "--use-labels",
        action="store_true",
        help="fine-tune with the Similar tab's +/- marks as positive / hard-negative "
        "pairs and interesting / artefact tags as positives",
    )
    parser.add_argument(
        "--label-weight",
        type=float,
        default=1.0,
        help="weight of the label terms (default 1)",
    )
    add_device_option(parser)
    parser.add_argument("--version", help="name of the new version (default v<n>)")
    parser.add_argument(
        "--batch-size", type=int, help="batch size (default the model's)"
    )
    add_workers_option(parser)
    parser.add_argument(
        "--scheduler", metavar="ADDRESS", help="run on this dask.distributed scheduler"
    )
    parser.add_argument(
        "--background", action="store_true", help="start the job and return at once"
    )
    control = parser.add_mutually_exclusive_group()
    control.add_argument(
        "--status",
        action="store_true",
        help="show the latest job's state and log, start nothing",
    )
    control.add_argument("--cancel", action="store_true", help="cancel the running job")


def _options(args: argparse.Namespace) -> tuple[str, dict]:
    """The job kind and :meth:`JobRunner.start` options the flags ask for."""
    from explorer.errors import DataError

    options: dict = {"device": args.device}
    for name in ("checkpoint", "version", "batch_size"):
        if getattr(args, name) is not None:
            options[name] = getattr(args, name)
    if args.workers is not None:
        options["num_workers"] = args.workers
    if args.finetune_epochs is None:
        if args.use_clusters or args.clusters or args.use_labels:
            msg = "--use-clusters/--clusters/--use-labels need --finetune-epochs N"
            raise DataError(msg)
        return "embed", options
    options["epochs"] = args.finetune_epochs
    options["cluster_weight"] = args.cluster_weight
    options["label_weight"] = args.label_weight
    if args.use_labels:
        options["use_labels"] = True
    if args.use_clusters:
        options["clusters"] = True
    elif args.clusters:
        options["clusters"] = [c.strip() for c in args.clusters.split(",") if c.strip()]
    return "finetune", options


def _follow(runner, info) -> int:
    from tqdm.auto import tqdm

    from explorer.errors import StoreError

    bar = tqdm(total=100, unit="%", bar_format="{desc} {bar} {n:.0f}%{postfix}")
    state = {"phase": None}

    def show(current) -> None:
        if current.phase != state["phase"]:
            state["phase"] = current.phase
            bar.reset(total=100)
        bar.set_description_str(f"{current.phase:>9}")
        bar.n = current.percent if not current.finished else 100
        extra = []
        if current.images_per_s:
            extra.append(f"{current.images_per_s:,.0f} img/s")
        if current.eta_s is not None and not current.finished:
            extra.append(f"ETA {current.eta_s:,.0f}s")
        if current.message:
            extra.append(current.message)
        bar.set_postfix_str(" ".join(extra)[:100])
        bar.refresh()

    try:
        final = runner.wait(info.job_id, callback=show)
    except KeyboardInterrupt:
        bar.close()
        print("cancelling the job ...", file=sys.stderr)
        final = runner.cancel(info.job_id)
        print(final.describe(), file=sys.stderr)
        return 130
    bar.close()
    if final.phase == "done":
        print(final.describe())
        return 0
    tail = runner.log_tail(final.job_id, lines=15)
    if tail:
        print(tail, file=sys.stderr)
    msg = f"{final.kind} job {final.job_id} {final.phase}: {final.message}"
    raise StoreError(msg)


def run(args: argparse.Namespace) -> int:
    from explorer.jobs import JobRunner

    runner = JobRunner(args.store)
    if args.status:
        info = runner.status()
        if info is None:
            print(f"no job has run on {args.store}")
            return 0
        print(info.describe())
        tail = runner.log_tail(info.job_id, lines=10)
        if tail:
            print(tail)
        return 0
    if args.cancel:
        print(runner.cancel().describe())
        return 0
    kind, options = _options(args)
    info = runner.start(kind, scheduler=args.scheduler, **options)
    print(
        f"started {kind} job {info.job_id} -> version {info.version} "
        f"(state in {info.directory})"
    )
    if args.background:
        return 0
    return _follow(runner, info)
