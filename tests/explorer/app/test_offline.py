"""The served dashboard loads nothing from outside (marked ``ui``).

Observatory networks are often closed: every script, style sheet, font and
image the page needs must come from the ``latentsky serve`` process itself.
The browser is told to abort any other request, and the test fails on the
first one, naming it.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

pytestmark = pytest.mark.ui

TIMEOUT_MS = 30_000
TABS = ("Selection", "Similar", "Anomalies", "Clusters", "Jobs")


def test_no_request_leaves_the_server(page, server):
    own = urlsplit(server.url).netloc
    outside: list[str] = []

    def guard(route) -> None:
        url = route.request.url
        parts = urlsplit(url)
        if parts.scheme in ("data", "blob") or parts.netloc == own:
            route.continue_()
        else:
            outside.append(url)
            route.abort()

    page.route("**/*", guard)
    page.goto(server.url)
    page.get_by_title("Box Select").first.wait_for(timeout=TIMEOUT_MS)
    for name in TABS:
        tab = page.locator(".bk-tab", has_text=name)
        if tab.count():
            tab.first.click()
            page.wait_for_timeout(500)
    page.wait_for_load_state("networkidle")
    assert not outside, f"the page asked other hosts for: {sorted(set(outside))}"
