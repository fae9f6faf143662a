"""``latentsky bench soak``: open and close many sessions, then an idle server.

One ``latentsky serve`` on 127.0.0.1 (``--session-timeout 2``); headless
chromium opens ``--sessions`` pages one after another, each until the map is
drawn, and closes it. Then, with no page open and the sessions reaped, the
server's CPU share over ``--idle`` seconds and its RSS against the RSS after
the first session are recorded (issue 11: < 10 % of a core, < 50 % growth).
"""

from __future__ import annotations

import argparse
import logging
import os
import time
from pathlib import Path
from typing import Any

from explorer.bench.ui_browser import _LIT_PIXELS_JS as LIT_PIXELS_JS
from explorer.bench.ui_browser import CHROMIUM, CHROMIUM_ARGS, LIT_PIXELS
from explorer.bench.ui_server import free_port

log = logging.getLogger(__name__)

SESSION_TIMEOUT_S = 2
TARGET_IDLE_CPU = 0.10
TARGET_RSS_GROWTH = 1.5


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags of the soak benchmark (``--out`` is added by the dispatcher)."""
    from explorer.argtypes import positive_float, positive_int_list

    def positive_int(text: str) -> int:
        (value,) = positive_int_list(text)
        return value

    parser.add_argument(
        "--store", default=None, help="an analysed store to serve (required)"
    )
    parser.add_argument(
        "--sessions", type=positive_int, default=50, help="pages opened and closed"
    )
    parser.add_argument(
        "--idle", type=positive_float, default=10.0, metavar="S",
        help="seconds of idle CPU measured at the end (default 10)",
    )  # fmt: skip


def _start(store_root: Path, log_path: Path):
    import subprocess
    import sys
    import urllib.request

    port = free_port()
    latentsky = Path(sys.executable).with_name("latentsky")
    out = open(log_path, "wb")  # noqa: SIM115 - closed by measure
    process = subprocess.Popen(
        [str(latentsky), "serve", str(store_root), "--port", str(port),
         "--session-timeout", str(SESSION_TIMEOUT_S)],
        stdout=out, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with urllib.request.urlopen(url, timeout=60):
                return process, out, url
        except OSError:
            time.sleep(0.5)
    process.kill()
    out.close()
    msg = f"server did not start: {log_path.read_text()[-2000:]}"
    raise RuntimeError(msg)


def measure(store_root: Path, n_sessions: int, idle_s: float) -> dict[str, Any]:
    """Open and close ``n_sessions`` pages, then measure the idle server.

    Returns
    -------
    dict
        Open times, RSS after the first and the last session and when idle,
        idle CPU share of one core, and the server log's warning counts.
    """
    import psutil
    from playwright.sync_api import sync_playwright

    log_path = store_root.parent / f"bench-soak-server-{os.getpid()}.log"
    process, out, url = _start(store_root, log_path)
    server = psutil.Process(process.pid)
    open_s: list[float] = []
    rss_first = None
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for _ in range(n_sessions):
                context = browser.new_context(viewport={"width": 1400, "height": 900})
                page = context.new_page()
                start = time.perf_counter()
                page.goto(url, timeout=120_000)
                page.wait_for_function(
                    f"({LIT_PIXELS_JS})() > {LIT_PIXELS}", polling=200, timeout=120_000
                )
                open_s.append(time.perf_counter() - start)
                context.close()
                if rss_first is None:
                    rss_first = server.memory_info().rss
            browser.close()
        rss_last = server.memory_info().rss
        time.sleep(3 * SESSION_TIMEOUT_S)  # the reaper releases every session
        server.cpu_percent(None)
        time.sleep(idle_s)
        idle = server.cpu_percent(None) / 100.0
        rss_idle = server.memory_info().rss
    finally:
        process.terminate()
        process.wait(timeout=20)
        out.close()
    text = log_path.read_text(errors="replace")
    return {
        "sessions": n_sessions,
        "open_s_first": round(open_s[0], 2),
        "open_s_median": round(sorted(open_s)[len(open_s) // 2], 2),
        "open_s_max": round(max(open_s), 2),
        "rss_mib_after_first": round(rss_first / 2**20, 1),
        "rss_mib_after_last": round(rss_last / 2**20, 1),
        "rss_mib_idle": round(rss_idle / 2**20, 1),
        "rss_growth": round(rss_idle / rss_first, 3),
        "idle_cpu_share": round(idle, 4),
        "idle_seconds": idle_s,
        "failed_sending_lines": text.count("Failed sending message"),
        "tracebacks": text.count("Traceback"),
        "targets": {"idle_cpu_share": TARGET_IDLE_CPU, "rss_growth": TARGET_RSS_GROWTH},
    }


def run(args: argparse.Namespace) -> Path:
    """Run the soak on a copy of ``--store``; write ``soak-<date>.json``."""
    from explorer.bench import store_copy, write_result

    with store_copy(args.store, "soak") as root:
        logging.basicConfig(level=logging.INFO)
        results = measure(root, args.sessions, args.idle)
        log.info("soak: %s", results)
        return write_result(
            "soak", results, args.out, device=f"cpu ({os.cpu_count()} cores)"
        )
