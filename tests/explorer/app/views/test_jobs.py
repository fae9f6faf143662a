"""The re-embedding tab's progress label and button styles (no browser)."""

from __future__ import annotations

from pathlib import Path

import panel as pn

from explorer.app.state import AppState
from explorer.app.views.jobs import JobsView, progress_text
from explorer.jobs.protocol import JobInfo
from explorer.store import Store


def job(phase: str, percent: float = 0.0, **extra) -> JobInfo:
    return JobInfo(
        "j1", "finetune", Path("."), {}, phase=phase, percent=percent, **extra
    )


def test_progress_says_what_the_job_is_doing():
    assert progress_text(job("embed", 40.0), 3000) == "embedding 1,200/3,000 cutouts"
    assert progress_text(job("train", 50.0, epoch=1, epochs=2), 10) == (
        "fine-tuning: epoch 1/2 (50 %)"
    )
    assert progress_text(job("analyse", 10.0), 10) == (
        "analysing the new version (10 %)"
    )
    assert progress_text(job("queued"), 10) == "queued: waiting for the job process…"
    assert progress_text(job("done", 100.0), 10) == "finetune job done"


def test_the_progress_bar_has_a_label_and_cancel_is_not_red(analysed_store_copy):
    state = AppState(Store.open(analysed_store_copy))
    layout = pn.panel(JobsView(state))
    objects = list(layout.select(lambda o: True))
    bar = next(o for o in objects if isinstance(o, pn.indicators.Progress))
    label = next(
        o for o in objects if "job-progress-label" in getattr(o, "css_classes", [])
    )
    assert objects.index(label) < objects.index(bar)  # above the bar
    assert label.object == "no job running"
    buttons = {b.label: b for b in layout.select(pn.widgets.Button)}
    assert buttons["Cancel"].color != "danger"


def test_use_labels_is_disabled_until_there_are_marks(analysed_store_copy):
    from explorer.store.annotations import Annotations

    store = Store.open(analysed_store_copy)
    state = AppState(store)
    layout = pn.panel(JobsView(state))
    (box,) = [
        c for c in layout.select(pn.widgets.Checkbox) if "job-labels" in c.css_classes
    ]
    assert box.disabled and "mark results + / − in the Similar tab" in box.label
    a, b, c = (int(i) for i in store.ids[:3])
    notes = Annotations.of_store(store)
    notes.add_similar_mark(a, b, 1)
    notes.add_similar_mark(a, c, -1)
    notes.add_similar_mark(b, c, -1)
    state.positives = [b]  # what the Similar tab's "+" click changes
    assert not box.disabled
    assert box.label == "use 1 + / 2 − marked pair(s)"
