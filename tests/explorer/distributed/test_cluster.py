"""--dask / --scheduler: parsing, the client, and the one-line errors (exit 2)."""

from __future__ import annotations

import argparse

import pytest

from explorer.cli import main
from explorer.commands.options import dask_local, scheduler_address
from explorer.distributed import cluster
from explorer.errors import StoreError


@pytest.mark.parametrize(("text", "workers"), [("local:1", 1), ("local:4", 4)])
def test_dask_local_parses_the_worker_count(text, workers):
    assert dask_local(text) == workers


@pytest.mark.parametrize(
    "text", ["local:0", "local:-2", "local:", "local:x", "4", "tcp:4"]
)
def test_dask_local_refuses_anything_else(text):
    with pytest.raises(argparse.ArgumentTypeError, match="local:N with N >= 1"):
        dask_local(text)


@pytest.mark.parametrize(
    "text", ["tcp://127.0.0.1:8786", "10.0.0.5:8786", "tls://sched.example:443"]
)
def test_scheduler_address_accepts_host_and_port(text):
    assert scheduler_address(text) == text


@pytest.mark.parametrize(
    "text", ["localhost", "tcp://host", "tcp://:8786", "h:0", "h:99999"]
)
def test_scheduler_address_refuses_a_malformed_one(text):
    with pytest.raises(argparse.ArgumentTypeError, match="tcp://HOST:PORT"):
        scheduler_address(text)


@pytest.mark.parametrize("command", ["ingest", "embed", "analyse"])
@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--dask", "local:0"], "argument --dask: must be local:N with N >= 1"),
        (["--scheduler", "nowhere"], "argument --scheduler: must be a dask"),
        (
            ["--dask", "local:2", "--scheduler", "tcp://h:1"],
            "not allowed with argument",
        ),
    ],
)
def test_bad_flags_are_one_line_errors(command, flags, message, tmp_path, capsys):
    positional = {
        "ingest": [str(tmp_path / "in.fits"), str(tmp_path / "store")],
        "embed": [str(tmp_path), "--checkpoint", "c.pt", "--version", "v"],
        "analyse": [str(tmp_path)],
    }[command]
    assert main([command, *positional, *flags]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith(f"latentsky {command}: error: "), err
    assert message in err[-1]
    assert "Traceback" not in "\n".join(err)


def test_unreachable_scheduler_is_a_one_line_error(
    small_store, tmp_path, capsys, monkeypatch
):
    monkeypatch.setattr(cluster, "CONNECT_TIMEOUT", "1s")
    code = main(
        [
            "ingest",
            str(small_store),
            str(tmp_path / "s"),
            "--scheduler",
            "tcp://127.0.0.1:9",
        ]
    )
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len([line for line in err if ": error: " in line]) == 1
    assert err[-1].startswith(
        "latentsky ingest: error: cannot reach the dask scheduler at tcp://127.0.0.1:9"
    )
    assert not (tmp_path / "s").exists()


def test_no_flags_means_no_client():
    with cluster.dask_client() as client:
        assert client is None


def test_both_ways_at_once_is_refused():
    with (
        pytest.raises(StoreError, match="not both"),
        cluster.dask_client(local_workers=1, scheduler="tcp://h:1"),
    ):
        pass


@pytest.mark.slow
def test_local_cluster_has_the_workers_asked_for_and_is_closed():
    with cluster.dask_client(local_workers=2) as client:
        info = cluster.describe(client)
        assert info["workers"] == 2 and info["threads"] == 2
        # threads_per_worker=1: dask pins BLAS/OpenMP to one thread per worker
        threads = client.run(lambda: __import__("os").environ.get("OMP_NUM_THREADS"))
        assert set(threads.values()) == {"1"}
    assert client.status == "closed"


def test_worker_paths_are_absolute_and_never_urls(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert cluster.worker_path("store") == tmp_path.resolve() / "store"
    with pytest.raises(StoreError, match="memory://bucket/store is a URL"):
        cluster.worker_path("memory://bucket/store")
