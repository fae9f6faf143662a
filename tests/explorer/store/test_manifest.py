"""explorer.store.manifest: opening checks and format versions."""

from __future__ import annotations

import json

import pytest

from explorer.errors import StoreError
from explorer.store import FORMAT_VERSION, MANIFEST, Store


def test_newer_format_version_is_refused(store):
    manifest = json.loads((store.root / MANIFEST).read_text())
    manifest["format_version"] = FORMAT_VERSION + 1
    (store.root / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(StoreError, match="newer"):
        Store.open(store.root)


def test_open_errors(tmp_path):
    with pytest.raises(StoreError, match="does not exist"):
        Store.open(tmp_path / "missing")
    with pytest.raises(StoreError, match="not a latentsky store"):
        Store.open(tmp_path)
    (tmp_path / MANIFEST).write_text("{not json")
    with pytest.raises(StoreError, match="not valid JSON"):
        Store.open(tmp_path)
    (tmp_path / MANIFEST).write_text(json.dumps({"format": "other"}))
    with pytest.raises(StoreError, match="format"):
        Store.open(tmp_path)
