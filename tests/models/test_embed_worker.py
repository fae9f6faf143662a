"""The subprocess entry the dashboard uses to embed uploaded cutouts."""

from __future__ import annotations

import subprocess
import sys

import numpy as np

from models.embed import embed_arrays
from models.embed_worker import main


def test_worker_writes_the_same_vectors_as_embed_arrays(
    small_store, tiny_checkpoint, tmp_path
):
    from explorer.store import Store

    cutouts = Store.open(small_store).cutouts_at([0, 5, 9])
    np.save(tmp_path / "in.npy", cutouts)
    code = main(
        [str(tiny_checkpoint), str(tmp_path / "in.npy"), str(tmp_path / "out.npy")]
    )
    assert code == 0
    expected = embed_arrays(tiny_checkpoint, cutouts, device="cpu")
    np.testing.assert_allclose(np.load(tmp_path / "out.npy"), expected, atol=1e-5)


def test_worker_reports_a_bad_checkpoint_in_one_line(tmp_path):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    np.save(tmp_path / "in.npy", np.zeros((1, 3, 32, 32), np.float32))
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "models.embed_worker",
            str(bad),
            str(tmp_path / "in.npy"),
            str(tmp_path / "out.npy"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert "bad.pt" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "out.npy").exists()
