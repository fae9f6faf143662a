"""A real ``LocalCluster`` of 2 worker processes, shared by the dask tests."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def dask_client():
    """A client of a LocalCluster: 2 worker processes, one thread each."""
    from explorer.distributed.cluster import dask_client as connect

    with connect(local_workers=2) as client:
        yield client
