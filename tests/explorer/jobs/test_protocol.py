"""Tests of explorer.jobs.protocol: progress files, clean-up."""

from __future__ import annotations

from explorer.jobs import cleanup_partial_version


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
