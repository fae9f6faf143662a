"""Closed pages release everything: a served dashboard idles after its pages
are gone (real ``latentsky serve``, real chromium; marked ``ui``)."""

from __future__ import annotations

import time

import psutil
import pytest

pytestmark = pytest.mark.ui

N_SESSIONS = 8
#: ``latentsky serve --session-timeout``: a closed page is released after this
SESSION_TIMEOUT_S = 2
TIMEOUT_MS = 60_000


def _open_and_close(browser, url: str) -> None:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.goto(url)
    page.get_by_title("Box Select").first.wait_for(timeout=TIMEOUT_MS)
    page.locator(".bk-Canvas").first.wait_for(timeout=TIMEOUT_MS)
    page.wait_for_timeout(1000)  # let the session's views settle
    context.close()


def _cpu_fraction(process: psutil.Process, seconds: float) -> float:
    """Share of one core the process used over ``seconds``."""
    process.cpu_percent(None)
    time.sleep(seconds)
    return process.cpu_percent(None) / 100.0


def test_closed_sessions_leave_an_idle_server(
    browser, analysed_store_copy, start_server
):
    server = start_server(
        analysed_store_copy, "--session-timeout", str(SESSION_TIMEOUT_S)
    )
    process = psutil.Process(server.process.pid)
    _open_and_close(browser, server.url)
    rss_first = process.memory_info().rss
    for _ in range(N_SESSIONS - 1):
        _open_and_close(browser, server.url)
    # the reaper runs every timeout/2: after two timeouts every session is gone
    time.sleep(3 * SESSION_TIMEOUT_S)
    idle = _cpu_fraction(process, 5.0)
    rss_idle = process.memory_info().rss
    log = server.log_text()
    assert idle < 0.10, f"idle server with no page open used {idle:.0%} of a core"
    assert rss_idle <= 1.5 * rss_first, (
        f"RSS grew from {rss_first / 2**20:.0f} to {rss_idle / 2**20:.0f} MiB "
        f"over {N_SESSIONS} sessions"
    )
    watch = [line for line in log.splitlines() if "session(s) subscribed" in line]
    assert watch, "the store watch never logged a subscription"
    assert watch[-1].endswith(": 0 session(s) subscribed"), watch[-1]
    assert "Failed sending message as connection was closed" not in log
    assert "Traceback" not in log
