"""The gateway to the torch side: each function used as its callers use it."""

from __future__ import annotations

import shutil
import subprocess
import sys

import numpy as np
import pytest

from explorer.errors import DataError
from explorer.jobs import runner
from explorer.store import Store, layout


def test_training_defaults_import_no_torch():
    code = (
        "import sys; from explorer.jobs.runner import training_defaults;"
        "d = training_defaults(); print(d['width'], 'torch' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    assert int(out[0]) > 0 and out[1] == "False"


def test_unknown_training_setting_names_the_key(small_store, tmp_path):
    with pytest.raises(DataError, match="wdith"):
        runner.train_encoder(small_store, tmp_path / "x.pt", {"wdith": 4})
    assert not (tmp_path / "x.pt").exists()


@pytest.mark.slow
def test_embed_version_encode_store_and_embed_cutouts_agree(
    small_store, tiny_checkpoint, tmp_path
):
    root = tmp_path / "store"
    shutil.copytree(small_store, root)
    name = runner.embed_version(
        root, tiny_checkpoint, "v1", device="cpu", workers=0, progress=False
    )
    store = Store.open(root, check=True)
    assert name == "v1" and store.current_version == "v1"
    for filename in (layout.EMBEDDINGS, layout.MAP, layout.INDEX, layout.ANALYSIS):
        assert (store.version_dir("v1") / filename).is_file(), filename
    stored = np.asarray(store.embeddings("v1"))
    encoded = runner.encode_store(
        root, tiny_checkpoint, device="cpu", workers=0, progress=False
    )
    np.testing.assert_allclose(encoded, stored, atol=1e-5)
    rows = [0, 7, 99]
    pushed = runner.embed_cutouts(tiny_checkpoint, store.cutouts_at(rows))
    np.testing.assert_allclose(pushed, stored[rows], atol=1e-4)
    np.testing.assert_allclose(np.linalg.norm(pushed, axis=1), 1.0, atol=1e-5)


def test_embed_cutouts_of_the_wrong_shape_is_a_clear_error(tiny_checkpoint):
    with pytest.raises(DataError, match="band|size|shape"):
        runner.embed_cutouts(tiny_checkpoint, np.zeros((1, 1, 8, 8), np.float32))
