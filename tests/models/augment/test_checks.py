"""Tests of models.augment.checks: what every augmentation refuses."""

from __future__ import annotations

import pytest
import torch

from models import augment as A


def test_rejects_non_square_or_integer_input():
    with pytest.raises(ValueError, match="shape"):
        A.random_flip(torch.zeros(2, 3, 8, 9))
    with pytest.raises(ValueError, match="float"):
        A.linearise(torch.zeros(2, 3, 8, 8, dtype=torch.int32))
