"""The Re-embed tab in a real browser, used as a user would (marked ``ui``).

One ``latentsky serve`` (:func:`jobs_server`) on a store whose ``v1`` was
embedded by a real tiny checkpoint. Jobs run in real subprocesses: an embed
and a 1-epoch fine-tune run to completion and the page switches to their
version; a long fine-tune is cancelled, another killed, and a start refused
while the store is locked, each leaving the current version as it was.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import time

import pytest
from playwright.sync_api import expect

from explorer.app.views.jobs import KIND_LABELS
from explorer.jobs import JobRunner, process_start_ticks
from explorer.store import Store

TIMEOUT_MS = 30_000
JOB_TIMEOUT_S = 45
#: websocket frames at least this large carry a re-rendered map image
MAP_FRAME_BYTES = 50_000
#: a fine-tune this long is still training when the test stops it
LONG_EPOCHS = 500


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


def watch_job(page, status, job_id: str, until: str, timeout_s: float = JOB_TIMEOUT_S):
    """Poll the status line and progress bar until job ``job_id`` shows ``until``.

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
        if job_id in text and until in text:
            return lines, values
        page.wait_for_timeout(200)
    raise AssertionError(f"job {job_id} never reached {until!r}; status: {lines}")


def start_job(page, status, kind: str, epochs: int | None = None) -> str:
    """Choose ``kind`` ("embed" or "fine-tune") on CPU, press Start; returns
    the id of the job the status line then shows."""
    page.get_by_role("button", name=kind, exact=True).click()
    page.locator(".job-device select").select_option("cpu")
    if epochs is not None:
        epochs_input = page.locator(".job-epochs input")
        expect(epochs_input).to_be_visible()
        epochs_input.fill(str(epochs))
        epochs_input.press("Enter")
    start = page.get_by_role("button", name="Start")
    expect(start).to_be_enabled(timeout=TIMEOUT_MS)
    previous = status.text_content() or ""
    start.click()
    job_kind = KIND_LABELS[kind]
    expect(status).to_contain_text(f"{job_kind} job", timeout=TIMEOUT_MS)
    expect(status).not_to_have_text(previous, timeout=TIMEOUT_MS)
    text = status.text_content() or ""
    return text.split(" job ", 1)[1].split(":", 1)[0]


def wait_for_frames(page, frames: list[int], n_before: int, timeout_s: float = 20):
    deadline = time.monotonic() + timeout_s
    while len(frames) == n_before and time.monotonic() < deadline:
        page.wait_for_timeout(200)
    return len(frames) > n_before


@pytest.mark.ui
@pytest.mark.slow
def test_embed_job_runs_to_completion_and_switches_version(page, jobs_server):
    store = Store.open(jobs_server.store)
    before = store.current_version
    frames = open_app(page, jobs_server.url)
    select = version_select(page)
    expect(select).to_have_value(before, timeout=TIMEOUT_MS)

    status = open_reembed(page)
    checkpoint = page.locator(".job-checkpoint select")
    expect(checkpoint).to_be_enabled()
    assert checkpoint.locator("option").first.text_content().startswith(before)
    # counted before the job: the page may switch version and redraw the map
    # before the watcher reads ": done" (counting after it was a race)
    n_frames = len(frames)
    job_id = start_job(page, status, "embed")
    lines, values = watch_job(page, status, job_id, ": done")
    # the user saw it progress through its phases, not only the end
    assert any(p in " ".join(lines) for p in ("starting", "embed ", "analyse")), lines
    assert len(values) >= 2, values
    assert "on cpu" in lines[-1]

    store.reload()
    new = store.current_version
    assert new != before and new in store.versions
    # the page switched to the new version by itself and re-rendered the map
    expect(select).to_have_value(new, timeout=TIMEOUT_MS)
    options = select.locator("option").all_text_contents()
    assert before in options and new in options
    assert wait_for_frames(page, frames, n_frames), "the map was not re-rendered"
    # the new version's checkpoint is offered for the next job
    expect(checkpoint.locator("option")).to_have_count(2, timeout=TIMEOUT_MS)
    # the user can switch back
    n_frames = len(frames)
    select.select_option(before)
    expect(select).to_have_value(before)
    assert wait_for_frames(page, frames, n_frames), "switching back did not redraw"


@pytest.mark.ui
@pytest.mark.slow
def test_finetune_job_runs_to_completion(page, jobs_server):
    store = Store.open(jobs_server.store)
    before = store.current_version
    open_app(page, jobs_server.url)
    select = version_select(page)
    status = open_reembed(page)
    clusters = page.locator(".job-clusters input")
    expect(clusters).to_be_disabled()  # no saved clusters in this store
    job_id = start_job(page, status, "fine-tune", epochs=1)
    lines, _ = watch_job(page, status, job_id, ": done")
    assert any("train" in line for line in lines), lines
    assert "on cpu" in lines[-1]
    store.reload()
    new = store.current_version
    assert new not in (before, None)
    assert store.version_config(new)["checkpoint"].endswith(f"{new}.pt")
    expect(select).to_have_value(new, timeout=TIMEOUT_MS)


@pytest.mark.ui
@pytest.mark.slow
def test_cancel_from_ui_keeps_previous_version(page, jobs_server):
    store = Store.open(jobs_server.store)
    before, versions_before = store.current_version, list(store.versions)
    open_app(page, jobs_server.url)
    select = version_select(page)
    status = open_reembed(page)
    job_id = start_job(page, status, "fine-tune", epochs=LONG_EPOCHS)
    watch_job(page, status, job_id, ": train")
    cancel = page.get_by_role("button", name="Cancel")
    expect(cancel).to_be_enabled()
    cancel.click()
    watch_job(page, status, job_id, ": cancelled", timeout_s=30)
    expect(page.get_by_role("button", name="Start")).to_be_enabled()
    expect(page.locator(".job-error")).to_be_hidden()

    store.reload()
    assert store.current_version == before
    assert store.versions == versions_before
    assert JobRunner(store).running() is None
    assert select.locator("option").all_text_contents() == versions_before
    expect(select).to_have_value(before)


@pytest.mark.ui
@pytest.mark.slow
def test_killed_job_is_reported_and_leaves_no_version(page, jobs_server):
    store = Store.open(jobs_server.store)
    before, versions_before = store.current_version, list(store.versions)
    open_app(page, jobs_server.url)
    status = open_reembed(page)
    job_id = start_job(page, status, "fine-tune", epochs=LONG_EPOCHS)
    watch_job(page, status, job_id, ": train")
    lock = json.loads((store.root / "jobs" / "lock").read_text())
    os.killpg(int(lock["pid"]), signal.SIGKILL)  # the job this test started

    watch_job(page, status, job_id, ": failed", timeout_s=30)
    alert = page.locator(".job-error")
    expect(alert).to_be_visible(timeout=TIMEOUT_MS)
    expect(alert).to_contain_text("failed")
    expect(alert).to_contain_text("start it again")
    expect(page.get_by_role("button", name="Start")).to_be_enabled()
    store.reload()
    assert (store.current_version, store.versions) == (before, versions_before)
    leftovers = [p.name for p in (store.root / "versions").iterdir()]
    assert sorted(leftovers) == sorted(versions_before)


@pytest.mark.ui
@pytest.mark.slow
def test_start_refused_while_locked_shows_error(page, jobs_server):
    store = Store.open(jobs_server.store)
    versions_before = list(store.versions)
    open_app(page, jobs_server.url)
    open_reembed(page)
    lock_path = store.root / "jobs" / "lock"
    # another (live) process holds the store's job lock
    lock = {
        "job_id": "20260101-000000-other",
        "pid": os.getpid(),
        "start_ticks": process_start_ticks(os.getpid()),
        "host": socket.gethostname(),
    }
    lock_path.parent.mkdir(exist_ok=True)
    lock_path.write_text(json.dumps(lock))
    try:
        page.get_by_role("button", name="embed", exact=True).click()
        page.get_by_role("button", name="Start").click()
        alert = page.locator(".job-error")
        expect(alert).to_be_visible(timeout=TIMEOUT_MS)
        expect(alert).to_contain_text("already running")
        expect(alert).to_contain_text("wait for it or cancel it")
        toast = page.locator(".notyf__toast", has_text="already running")
        expect(toast.first).to_be_visible(timeout=TIMEOUT_MS)
        expect(page.get_by_role("button", name="Start")).to_be_enabled()
    finally:
        lock_path.unlink()
    store.reload()
    assert store.versions == versions_before


def test_store_without_checkpoint_disables_start_with_advice(analysed_store):
    """No browser: a store whose versions name no checkpoint (pixel PCA)."""
    from explorer.app.state import AppState
    from explorer.app.views.jobs import JobsView

    state = AppState(Store.open(analysed_store))
    view = JobsView(state)
    assert view._checkpoint.disabled
    assert view._use_clusters.disabled and not view._use_clusters.value
    view._on_start(None)
    assert view._alert.visible
    assert "latentsky train" in view._alert.object
    assert state.notification["level"] == "error"
    assert not (analysed_store / "jobs" / "lock").exists()


def test_saved_cluster_enables_the_clusters_option(analysed_store_copy):
    """No browser: "use saved clusters" follows the store's saved clusters."""
    from explorer.app.state import AppState
    from explorer.app.views.jobs import JobsView
    from explorer.store.annotations import Annotations

    store = Store.open(analysed_store_copy)
    state = AppState(store)
    view = JobsView(state)
    assert view._use_clusters.disabled
    Annotations(store.annotations_path).save_cluster("blobs", store.ids[:5])
    state.param.trigger("clusters_changed")
    assert not view._use_clusters.disabled
    assert "1 saved cluster" in view._use_clusters.label
