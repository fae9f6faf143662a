"""The ``dask.distributed`` client of a command: a new LocalCluster or a scheduler.

The conventions are those of the re-embedding job's ``--scheduler``
(:meth:`explorer.jobs.control.JobRunner.start`): the same 10 s connection
timeout and the same one-line errors when ``dask.distributed`` is missing or
the scheduler does not answer.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from explorer.errors import StoreError
from explorer.store import location

log = logging.getLogger(__name__)

#: How long connecting to a scheduler (and waiting for its first worker) may take.
CONNECT_TIMEOUT = "10s"


def _import_distributed() -> Any:
    try:
        import dask.distributed as distributed
    except ImportError as exc:
        msg = (
            "running on dask needs dask.distributed "
            "(pip install 'dask[distributed]'); leave --dask/--scheduler out to "
            "run in this process"
        )
        raise StoreError(msg) from exc
    return distributed


@contextlib.contextmanager
def dask_client(
    *, local_workers: int | None = None, scheduler: str | None = None
) -> Iterator[Any]:
    """A connected ``dask.distributed.Client``, or None to run in process.

    Parameters
    ----------
    local_workers : int, optional
        Start a ``LocalCluster`` of this many worker processes with one
        thread each (``--dask local:N``); it is closed on exit.
    scheduler : str, optional
        Connect to the scheduler at this address (``--scheduler``); the
        client is closed on exit, the scheduler keeps running.

    Yields
    ------
    distributed.Client or None
        None when neither is given.

    Raises
    ------
    StoreError
        If both are given, ``local_workers`` is below 1, dask.distributed
        is missing, the scheduler does not answer within
        :data:`CONNECT_TIMEOUT` or has no worker.
    """
    if local_workers is not None and scheduler is not None:
        raise StoreError("give --dask local:N or --scheduler ADDRESS, not both")
    if local_workers is None and scheduler is None:
        yield None
        return
    distributed = _import_distributed()
    if local_workers is not None:
        if local_workers < 1:
            msg = f"--dask local:N needs N >= 1 workers, got {local_workers}"
            raise StoreError(msg)
        with (
            distributed.LocalCluster(
                n_workers=local_workers,
                threads_per_worker=1,
                processes=True,
                # any free port: a fixed one clashes with another cluster's
                dashboard_address=":0",
            ) as cluster,
            distributed.Client(cluster) as client,
        ):
            log.info(
                "started a LocalCluster of %d workers (dashboard %s)",
                local_workers,
                client.dashboard_link,
            )
            yield client
        return
    client = _connect(distributed, scheduler)
    try:
        yield client
    finally:
        client.close()


def _connect(distributed: Any, address: str) -> Any:
    """A client of the scheduler at ``address`` that has at least one worker."""
    try:
        client = distributed.Client(address, timeout=CONNECT_TIMEOUT)
    except (OSError, ValueError) as exc:
        msg = f"cannot reach the dask scheduler at {address}: {exc}"
        raise StoreError(msg) from exc
    try:
        client.wait_for_workers(1, timeout=CONNECT_TIMEOUT)
    except (OSError, TimeoutError) as exc:
        client.close()
        msg = f"the dask scheduler at {address} has no workers: {exc}"
        raise StoreError(msg) from exc
    return client


def client_from_args(args: argparse.Namespace) -> contextlib.AbstractContextManager:
    """:func:`dask_client` of the parsed ``--dask`` / ``--scheduler`` flags."""
    return dask_client(
        local_workers=getattr(args, "dask", None),
        scheduler=getattr(args, "scheduler", None),
    )


def describe(client: Any) -> dict[str, Any]:
    """``{"scheduler", "workers", "threads"}`` of a client, for analysis.json."""
    threads = client.nthreads()
    return {
        "scheduler": str(client.scheduler.address),
        "workers": len(threads),
        "threads": int(sum(threads.values())),
    }


def worker_path(path: str | os.PathLike[str] | Any, what: str = "store") -> Path:
    """``path`` made absolute, as every worker opens it.

    Parameters
    ----------
    path : path-like
        A store, survey, checkpoint or version directory.
    what : str
        What it is, for the error message.

    Returns
    -------
    pathlib.Path
        The absolute path.

    Raises
    ------
    StoreError
        If ``path`` is a URL: tasks write and memory-map files, so they need
        a directory every worker can open (local, or a shared file system).
    """
    if location.is_url(str(path)) or location.is_remote(path):
        msg = (
            f"{what} {path} is a URL: --dask/--scheduler need a directory every "
            "worker can open (this machine's disk or a shared file system)"
        )
        raise StoreError(msg)
    return Path(path).resolve()
