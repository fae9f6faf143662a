"""A bad option value is an argparse error: exit 2, one line naming it, no traceback.

Each case fails in argparse, before a command touches a store, so the store
arguments need not exist.
"""

from __future__ import annotations

import pytest

from explorer import cli

STORE = "no-such-store"

#: (argv, the error line's text after ``latentsky CMD: error: ``)
BAD_ARGUMENTS = [
    # demo-data
    (["demo-data", "x.fits", "--n", "0"], "argument --n: must be >= 1, got '0'"),
    (["demo-data", "x.fits", "--n", "-5"], "argument --n: must be >= 1, got '-5'"),
    (["demo-data", "x.fits", "--n", "many"], "argument --n: must be an integer"),
    (["demo-data", "x.fits", "--size", "0"], "argument --size: must be >= 16, got '0'"),
    (["demo-data", "x.fits", "--seed", "-1"], "argument --seed: must be >= 0"),
    # ingest
    (["ingest", "a.fits", STORE, "--chunk", "0"], "argument --chunk: must be >= 1"),
    # diff
    (["diff", STORE, "v1", "--k", "0"], "argument --k: must be >= 1, got '0'"),
    (["diff", STORE, "v1", "--top", "-1"], "argument --top: must be >= 0"),
    # export
    (
        ["export", STORE, "--ids", "1,x", "--out", "o.csv"],
        "argument --ids: '1,x' is not a comma-separated list of integers",
    ),
    (
        ["export", STORE, "--ids", ",", "--out", "o.csv"],
        "argument --ids: ',' is not a comma-separated list",
    ),
    (
        ["export", STORE, "--top-anomalies", "0", "--out", "o.csv"],
        "argument --top-anomalies: must be >= 1, got '0'",
    ),
    (
        ["export", STORE, "--ids", "1", "--out", "o.csv", "--format", "xls"],
        "argument --format: invalid choice: 'xls'",
    ),
    # serve
    (["serve", STORE, "--port", "99999"], "argument --port: must be a port 1-65535"),
    (["serve", STORE, "--port", "-1"], "argument --port: must be >= 0, got '-1'"),
    (
        ["serve", STORE, "--session-timeout", "0"],
        "argument --session-timeout: must be a positive number, got '0'",
    ),
    (["serve", STORE, "--session-timeout", "inf"], "argument --session-timeout:"),
    (["serve", STORE, "--session-timeout", "nan"], "argument --session-timeout:"),
    # demo
    (["demo", "--n", "-1"], "argument --n: must be >= 1, got '-1'"),
    (["demo", "--port", "70000"], "argument --port: must be a port 1-65535"),
    (["demo", "--epochs", "0"], "argument --epochs: must be >= 1, got '0'"),
    (["demo", "--device", "tpu"], "argument --device: invalid choice: 'tpu'"),
    # train
    (
        ["train", STORE, "--out", "c.pt", "--layers", "a,b"],
        "argument --layers: 'a,b' is not a comma-separated list of integers",
    ),
    (
        ["train", STORE, "--out", "c.pt", "--layers", "2,0,2,2"],
        "argument --layers: '2,0,2,2' is not a comma-separated list of integers >= 1",
    ),
    (["train", STORE, "--out", "c.pt", "--epochs", "0"], "argument --epochs: must be"),
    (
        ["train", STORE, "--out", "c.pt", "--batch-size", "1"],
        "argument --batch-size: must be >= 2, got '1'",
    ),
    (
        ["train", STORE, "--out", "c.pt", "--temperature", "-1"],
        "argument --temperature: must be a positive number, got '-1'",
    ),
    (["train", STORE, "--out", "c.pt", "--lr", "0"], "argument --lr: must be a posi"),
    (["train", STORE, "--out", "c.pt", "--width", "0"], "argument --width: must be"),
    (["train", STORE, "--out", "c.pt", "--crop", "-3"], "argument --crop: must be"),
    (["train", STORE, "--out", "c.pt", "--workers", "-1"], "argument --workers:"),
    (["train", STORE, "--out", "c.pt", "--threads", "x"], "argument --threads:"),
    (["train", STORE, "--out", "c.pt", "--seed", "-2"], "argument --seed: must be"),
    (
        ["train", STORE, "--out", "c.pt", "--method", "moco"],
        "argument --method: invalid choice: 'moco'",
    ),
    (
        ["train", STORE, "--out", "c.pt", "--optimizer", "sgd"],
        "argument --optimizer: invalid choice: 'sgd'",
    ),
    (["train", STORE, "--out", "c.pt", "--device", "gpu"], "argument --device:"),
    # embed
    (
        [
            "embed",
            STORE,
            "--checkpoint",
            "c.pt",
            "--version",
            "v",
            "--batch-size",
            "-1",
        ],
        "argument --batch-size: must be >= 1, got '-1'",
    ),
    (
        ["embed", STORE, "--checkpoint", "c.pt", "--version", "v", "--workers", "-1"],
        "argument --workers: must be >= 0, got '-1'",
    ),
    (
        ["embed", STORE, "--checkpoint", "c.pt", "--version", "v", "--device", "x"],
        "argument --device: invalid choice: 'x'",
    ),
]


@pytest.mark.parametrize(
    ("argv", "message"), BAD_ARGUMENTS, ids=[" ".join(a) for a, _ in BAD_ARGUMENTS]
)
def test_bad_argument_is_one_argparse_error_line(argv, message, capsys):
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if ": error: " in line]
    assert len(errors) == 1, err
    assert errors[0].startswith(f"latentsky {argv[0]}: error: {message}"), err


def test_num_workers_is_a_hidden_alias_of_workers(capsys):
    parser = cli.build_parser()
    args = parser.parse_args(
        ["embed", STORE, "--checkpoint", "c.pt", "--version", "v", "--num-workers", "3"]
    )
    assert args.workers == 3
    with pytest.raises(SystemExit):
        parser.parse_args(["embed", "--help"])
    out = capsys.readouterr().out
    assert "--workers" in out
    assert "--num-workers" not in out
