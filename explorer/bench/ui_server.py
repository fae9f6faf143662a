"""The UI benchmark's server: a real ``latentsky serve`` process, and the
server-side timings measured in this process (map load, box, metrics).
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import IO, Any

import numpy as np

from explorer.bench.ui_store import box_around_median

#: seconds to wait for the first HTTP 200 of the server
START_TIMEOUT_S = 600


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rss_mib(pid: int) -> float:
    """Resident memory of process ``pid`` in MiB (NaN if not reported)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def start_server(
    store_root: Path, port: int, log_path: Path, processes: int = 1
) -> tuple[subprocess.Popen, IO[bytes], str, float]:
    """Start ``latentsky serve`` and wait until it answers HTTP 200.

    Parameters
    ----------
    store_root : pathlib.Path
        Store to serve.
    port : int
        Port on 127.0.0.1.
    log_path : pathlib.Path
        File receiving the server's stdout and stderr.
    processes : int
        ``latentsky serve --processes``.

    Returns
    -------
    process, log_file, url, seconds
        The server process, its open log file (closed by :func:`stop_server`),
        its URL and the seconds from spawn to the first HTTP 200.

    Raises
    ------
    RuntimeError
        If the server exits or does not answer within 600 s.
    """
    latentsky = Path(sys.executable).with_name("latentsky")
    out = open(log_path, "wb")  # noqa: SIM115 - closed by stop_server
    start = time.perf_counter()
    process = subprocess.Popen(
        [str(latentsky), "serve", str(store_root), "--port", str(port)]
        + (["--processes", str(processes)] if processes > 1 else []),
        stdout=out,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/"
    while time.perf_counter() - start < START_TIMEOUT_S:
        if process.poll() is not None:
            msg = f"server exited: {log_path.read_text()[-2000:]}"
            raise RuntimeError(msg)
        try:
            with urllib.request.urlopen(url, timeout=60) as response:
                if response.status == 200:
                    return process, out, url, time.perf_counter() - start
        except OSError:
            time.sleep(0.5)
    process.kill()
    msg = f"server did not start within {START_TIMEOUT_S} s"
    raise RuntimeError(msg)


def stop_server(process: subprocess.Popen, out: IO[bytes]) -> None:
    """Terminate the server (kill it after 20 s) and close its log file."""
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
    out.close()


def measure_server_side(store, box_target: int) -> tuple[dict[str, Any], Any]:
    """Timings of the server's work on this store, measured in this process.

    Parameters
    ----------
    store : Store
        Store with a current version.
    box_target : int
        About this many sources are selected by the measured box.

    Returns
    -------
    results : dict
        Seconds / milliseconds of map load + KD-tree, box resolution,
        nearest-point lookup and the box's metrics.
    data : explorer.app.data.MapData
        The loaded map (the browser measurements reuse its coordinates).
    """
    from explorer.analysis.metrics import selection_metrics
    from explorer.app.data import MapData

    # import scikit-learn etc. first, as the server's warm-up does
    selection_metrics(
        store.embeddings(), np.arange(min(store.n_sources, 100)), max_rest=1000
    )
    start = time.perf_counter()
    data = MapData(store, store.current_version)
    load_s = time.perf_counter() - start
    view = [data.x.min(), data.x.max(), data.y.min(), data.y.max()]
    bounds = box_around_median(data.x, data.y, box_target, view)
    start = time.perf_counter()
    rows = data.select_box(bounds)
    box_ms = (time.perf_counter() - start) * 1000
    start = time.perf_counter()
    data.nearest(float(data.x[0]), float(data.y[0]), 0.01)
    nearest_ms = (time.perf_counter() - start) * 1000
    start = time.perf_counter()
    selection_metrics(data.embeddings, rows, clusters=data.table["cluster"].to_numpy())
    metrics_s = time.perf_counter() - start
    return {
        "map_load_and_kdtree_s": round(load_s, 2),
        "box_resolve_ms": round(box_ms, 1),
        "box_sources": int(len(rows)),
        "nearest_ms": round(nearest_ms, 2),
        "metrics_s": round(metrics_s, 2),
    }, data
