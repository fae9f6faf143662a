"""``--map`` / ``--seed`` on ``latentsky analyse`` and ``latentsky embed``."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from explorer import cli
from explorer.store.layout import ANALYSIS, MAP


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["analyse", "s", "--map", "mds"], "argument --map: invalid choice: 'mds'"),
        (["analyse", "s", "--seed", "-1"], "argument --seed: must be >= 0"),
        (
            ["embed", "s", "--checkpoint", "c.pt", "--version", "v", "--map", "x"],
            "argument --map: invalid choice: 'x'",
        ),
    ],
)
def test_bad_map_options_are_argparse_errors(argv, message, capsys):
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_embed_accepts_map_and_seed():
    args = cli.build_parser().parse_args(
        ["embed", "s", "--checkpoint", "c", "--version", "v", "--map", "tsne"]
    )
    assert (args.map_method, args.map_seed) == ("tsne", None)


@pytest.mark.slow
def test_analyse_records_map_method_seed_and_trustworthiness(
    analysed_store_copy, capsys
):
    root = analysed_store_copy
    version_dir = root / "versions" / "v1"
    assert cli.main(["analyse", str(root), "--map", "pca", "--no-progress"]) == 0
    info = json.loads((version_dir / ANALYSIS).read_text())
    assert info["map"]["method"] == "pca" and info["map"]["seed"] is None
    trust = info["map"]["trustworthiness"]
    assert trust["all_points"] and trust["n"] == info["n_sources"]
    assert 0.5 < trust["trustworthiness"] <= 1.0
    assert "map pca" in capsys.readouterr().out
    first = pd.read_parquet(version_dir / MAP)[["x", "y"]].to_numpy()
    argv = ["analyse", str(root), "--map", "tsne", "--seed", "4", "--no-progress"]
    assert cli.main(argv) == 0
    tsne = pd.read_parquet(version_dir / MAP)[["x", "y"]].to_numpy()
    info = json.loads((version_dir / ANALYSIS).read_text())
    assert info["map"]["method"] == "tsne" and info["map"]["seed"] == 4
    assert cli.main(argv) == 0
    again = pd.read_parquet(version_dir / MAP)[["x", "y"]].to_numpy()
    np.testing.assert_allclose(tsne, again)  # seeded: reproducible
    assert not np.allclose(first, tsne)
