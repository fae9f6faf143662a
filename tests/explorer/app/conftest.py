"""Fixtures of the dashboard tests: an analysed store (pixel-PCA embeddings,
no torch), a ``latentsky serve`` process, and Debian chromium for playwright."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from explorer.bench.ui import CHROMIUM, CHROMIUM_ARGS

SERVER_START_TIMEOUT_S = 90


@pytest.fixture(scope="module")
def two_version_store(analysed_store: Path, add_version, tmp_path_factory) -> Path:
    """A copy of the analysed store with a second version ``v2`` (current)."""
    root = tmp_path_factory.mktemp("two") / "store"
    shutil.copytree(analysed_store, root)
    add_version(root, "v2", n_components=8)
    return root


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """A ``latentsky serve`` subprocess on a free port."""

    def __init__(self, store: Path, log_path: Path, *extra: str) -> None:
        self.store = store
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.log_path = log_path
        self._log = open(log_path, "ab")  # noqa: SIM115 - closed in stop()
        latentsky = Path(sys.executable).with_name("latentsky")
        self.process = subprocess.Popen(
            [str(latentsky), "serve", str(store), "--port", str(self.port), *extra],
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        self._wait(log_path)

    def _wait(self, log_path: Path) -> None:
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self._log.close()
                msg = f"server exited early:\n{log_path.read_text()[-3000:]}"
                raise RuntimeError(msg)
            try:
                with urllib.request.urlopen(self.url, timeout=30) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.3)
        self.stop()
        msg = f"server did not answer within {SERVER_START_TIMEOUT_S} s"
        raise RuntimeError(msg)

    def log_text(self) -> str:
        """What the server has logged so far."""
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self._log.close()


@pytest.fixture(scope="module")
def served_store(
    analysed_store: Path, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """A writable copy of the analysed store for one browser-test module."""
    root = tmp_path_factory.mktemp("served") / "store"
    shutil.copytree(analysed_store, root)
    return root


@pytest.fixture(scope="module")
def server(served_store: Path, tmp_path_factory: pytest.TempPathFactory):
    """A running ``latentsky serve`` on :func:`served_store`; yields it."""
    log_path = tmp_path_factory.mktemp("logs") / "server.log"
    running = Server(served_store, log_path)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Launch Debian chromium (playwright cannot download browsers here)."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} missing: apt-get install -y chromium")
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": CHROMIUM_ARGS,
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    """A 1400x900 window, like a laptop screen."""
    return {**browser_context_args, "viewport": {"width": 1400, "height": 900}}


@pytest.fixture
def start_server(tmp_path: Path):
    """Factory: ``start_server(store_path, *serve_args) -> Server``; all
    stopped at teardown."""
    started: list[Server] = []

    def start(store: Path, *extra: str) -> Server:
        running = Server(store, tmp_path / f"server-{len(started)}.log", *extra)
        started.append(running)
        return running

    yield start
    for running in started:
        running.stop()


# ------------------------------------------------ re-embedding (jobs) browser tests
@pytest.fixture(scope="module")
def ssl_store(
    small_store: Path, tmp_path_factory: pytest.TempPathFactory, tiny_checkpoint: Path
) -> Path:
    """A copy of ``small_store`` with version ``v1`` embedded by a real tiny
    checkpoint (its ``config.json`` names the checkpoint, so re-embedding
    jobs can start from it)."""
    import torch

    from explorer.jobs.runner import embed_version

    root = tmp_path_factory.mktemp("ssl") / "store"
    shutil.copytree(small_store, root)
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        embed_version(root, tiny_checkpoint, "v1", device="cpu", workers=0)
    finally:
        torch.set_num_threads(threads)
    return root


@pytest.fixture(scope="module")
def jobs_server(ssl_store: Path, tmp_path_factory: pytest.TempPathFactory):
    """``latentsky serve`` on :func:`ssl_store` with one CPU thread per process
    (its jobs inherit ``OMP_NUM_THREADS=1``); a job still running at the end is
    cancelled (it runs in its own process group, not the server's)."""
    from explorer.jobs import JobRunner

    log_path = tmp_path_factory.mktemp("logs") / "jobs-server.log"
    with pytest.MonkeyPatch.context() as patch:  # inherited by Popen
        patch.setenv("OMP_NUM_THREADS", "1")
        running = Server(ssl_store, log_path)
    try:
        yield running
    finally:
        try:
            runner = JobRunner(ssl_store)
            if runner.running() is not None:
                runner.cancel(wait=True)
        finally:
            running.stop()
