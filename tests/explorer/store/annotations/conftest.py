"""Fixtures of the annotations tests."""

from __future__ import annotations

import pytest

from explorer.store.annotations import Annotations


@pytest.fixture
def notes(tmp_path):
    return Annotations(tmp_path / "annotations.sqlite")
