"""Tests of explorer.jobs.protocol: pid liveness, progress files, clean-up."""

from __future__ import annotations

import os
import subprocess
import sys

from explorer import jobs
from explorer.jobs import cleanup_partial_version, pid_alive


def test_pid_liveness():
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    assert not pid_alive(proc.pid)
    me = os.getpid()
    assert pid_alive(me, jobs.process_start_ticks(me))
    # the same PID with another start time is a reused PID, not our job
    assert not pid_alive(me, (jobs.process_start_ticks(me) or 0) + 12345)
    assert not pid_alive(None)


def test_cleanup_spares_published_versions(
    digest, with_version, small_store_copy, tiny_checkpoint
):
    store = with_version(small_store_copy, tiny_checkpoint, "v1")
    before = digest(store.version_dir("v1"))
    orphan = small_store_copy / "versions" / "v2"  # renamed, manifest not updated
    orphan.mkdir()
    removed = cleanup_partial_version(small_store_copy, "v1")
    removed += cleanup_partial_version(small_store_copy, "v2")
    assert removed == [orphan] and not orphan.exists()
    assert digest(store.version_dir("v1")) == before
