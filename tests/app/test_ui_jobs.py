"""The Re-embed tab in a real browser: a job runs to completion and the page
switches to its version; a cancelled job leaves the previous version current.

One ``latentsky serve`` (:func:`jobs_server`) on a store whose ``v1`` was
embedded by a real tiny checkpoint. Its fine-tune jobs stall in training
(``LATENTSKY_JOB_STALL_PHASE=train``) so that one can be cancelled mid-run;
embed jobs are not affected.
"""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import expect

from explorer.jobs import JobRunner
from explorer.store import Store

pytestmark = [pytest.mark.ui, pytest.mark.slow]

TIMEOUT_MS = 30_000
JOB_TIMEOUT_S = 45
#: websocket frames at least this large carry a re-rasterized map image
MAP_FRAME_BYTES = 50_000


def open_app(page, url: str) -> list[int]:
    """Open the dashboard; returns a live list of large inbound frame sizes."""
    frames: list[int] = []

    def on_websocket(ws):
        ws.on(
            "framereceived",
            lambda payload: (
                frames.append(len(payload)) if len(payload) >= MAP_FRAME_BYTES else None
            ),
        )

    page.on("websocket", on_websocket)
    page.goto(url)
    page.locator(".bk-Canvas").first.wait_for(timeout=TIMEOUT_MS)
    return frames


def version_select(page):
    """The sidebar's "Embedding version" ``<select>``."""
    return page.locator(".bk-input-group", has_text="Embedding version").locator(
        "select"
    )


def open_reembed(page):
    page.locator(".bk-tab", has_text="Re-embed").first.click()
    status = page.locator(".job-status div").first
    status.wait_for(timeout=TIMEOUT_MS)
    return status


def watch_job(page, status, until: str, timeout_s: float = JOB_TIMEOUT_S):
    """Poll the status line and progress bar until ``until`` shows in the status.

    Returns the distinct status lines and progress values seen on the way.
    """
    progress = page.locator(".job-progress progress").first
    lines: list[str] = []
    values: list[str] = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        text = status.text_content() or ""
        value = progress.get_attribute("value") if progress.count() else None
        if not lines or text != lines[-1]:
            lines.append(text)
        if value is not None and (not values or value != values[-1]):
            values.append(value)
        if until in text:
            return lines, values
        page.wait_for_timeout(200)
    raise AssertionError(f"job never reached {until!r}; status lines: {lines}")


def test_embed_job_runs_to_completion_and_switches_version(page, jobs_server):
    store = Store.open(jobs_server.store)
    before = store.current_version
    frames = open_app(page, jobs_server.url)
    select = version_select(page)
    expect(select).to_have_value(before, timeout=TIMEOUT_MS)

    status = open_reembed(page)
    page.get_by_role("button", name="embed", exact=True).click()
    page.locator(".job-device select").select_option("cpu")
    page.get_by_role("button", name="Start").click()
    expect(status).to_contain_text("embed job", timeout=TIMEOUT_MS)
    lines, values = watch_job(page, status, ": done")
    phases = " ".join(lines)
    # the user saw it progress through its phases, not only the end
    assert any(p in phases for p in ("starting", "embed ", "analyse")), lines
    assert len(values) >= 2, values
    assert "on cpu" in lines[-1]

    store.reload()
    new = store.current_version
    assert new != before and new in store.versions
    # the page switched to the new version by itself ...
    n_frames = len(frames)
    expect(select).to_have_value(new, timeout=TIMEOUT_MS)
    options = select.locator("option").all_text_contents()
    assert before in options and new in options
    # ... and the map was re-rendered for it
    deadline = time.monotonic() + 20
    while len(frames) == n_frames and time.monotonic() < deadline:
        page.wait_for_timeout(200)
    assert len(frames) > n_frames, "the map did not re-render for the new version"
    # the user can switch back
    select.select_option(before)
    expect(select).to_have_value(before)


def test_cancel_from_ui_keeps_previous_version(page, jobs_server):
    store = Store.open(jobs_server.store)
    before, versions_before = store.current_version, list(store.versions)
    open_app(page, jobs_server.url)
    select = version_select(page)
    status = open_reembed(page)
    page.get_by_role("button", name="fine-tune", exact=True).click()
    page.get_by_role("button", name="Start").click()
    # stalled in training (LATENTSKY_JOB_STALL_PHASE) until cancelled
    watch_job(page, status, "stalled in train")
    cancel = page.get_by_role("button", name="Cancel")
    expect(cancel).to_be_enabled()
    cancel.click()
    watch_job(page, status, ": cancelled", timeout_s=30)
    expect(page.get_by_role("button", name="Start")).to_be_enabled()

    store.reload()
    assert store.current_version == before
    assert store.versions == versions_before
    assert JobRunner(store).running() is None
    options = select.locator("option").all_text_contents()
    assert options == versions_before
    expect(select).to_have_value(before)
