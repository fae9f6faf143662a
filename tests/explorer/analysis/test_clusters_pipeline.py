"""``latentsky analyse --clusters leiden|hdbscan --resolution``: what a version gets."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from explorer import cli
from explorer.store.layout import ANALYSIS, MAP


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["analyse", "s", "--clusters", "kmeans"], "invalid choice: 'kmeans'"),
        (["analyse", "s", "--resolution", "0"], "argument --resolution"),
    ],
)
def test_bad_cluster_options_are_argparse_errors(argv, message, capsys):
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_resolution_without_leiden_is_refused_before_any_work(capsys):
    argv = ["analyse", "nowhere", "--clusters", "hdbscan", "--resolution", "1"]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert "--resolution applies to --clusters leiden, not hdbscan" in err
    assert "Traceback" not in err


def test_defaults_are_leiden():
    args = cli.build_parser().parse_args(["analyse", "s"])
    assert (args.cluster_method, args.resolution) == ("leiden", None)


def _clusters(version_dir):
    info = json.loads((version_dir / ANALYSIS).read_text())["clusters"]
    table = pd.read_parquet(version_dir / MAP, columns=["id", "cluster"])
    return info, table


@pytest.mark.slow
def test_analyse_switches_cluster_method(analysed_store_copy, capsys):
    root = analysed_store_copy
    version_dir = root / "versions" / "v1"
    base = ["analyse", str(root), "--map", "pca", "--no-progress"]
    assert cli.main([*base, "--clusters", "hdbscan"]) == 0
    info, _ = _clusters(version_dir)
    assert info["method"] == "hdbscan"
    argv = [*base, "--clusters", "leiden", "--resolution", "0.5"]
    assert cli.main(argv) == 0
    info, table = _clusters(version_dir)
    assert info["method"] == "leiden"
    assert info["params"]["resolution"] == 0.5 and info["params"]["seed"] == 0
    # the names the UI shows: size and typical members of each cluster
    for entry in info["clusters"]:
        members = table.loc[table["cluster"] == entry["cluster"], "id"]
        assert entry["cluster_size"] == len(members)
        if entry["cluster"] >= 0:
            assert (
                entry["name"] == f"auto cluster {entry['cluster']} ({len(members):,})"
            )
            assert set(entry["typical_ids"]) <= set(members)
            assert len(entry["typical_ids"]) == min(5, len(members))
    # seeded: the same labels again
    assert cli.main(argv) == 0
    _, again = _clusters(version_dir)
    assert again["cluster"].tolist() == table["cluster"].tolist()
    assert "clusters" in capsys.readouterr().out
