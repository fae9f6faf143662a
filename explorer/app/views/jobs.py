"""Re-embedding panel: start an embed / fine-tune job (``explorer.jobs``),
follow its progress (phase, %, img/s, ETA, device, log tail), cancel it, and
switch to the new version when it is done."""

from __future__ import annotations

import logging

import panel as pn
import param

from explorer.app.state import AppState

log = logging.getLogger(__name__)

POLL_MS = 1000


class JobsView(pn.viewable.Viewer):
    """Launch and watch the store's background re-embedding job."""

    state = param.ClassSelector(class_=AppState)

    def __init__(self, state: AppState, **params) -> None:
        super().__init__(state=state, **params)
        from explorer.jobs import DEVICES, KINDS, JobRunner

        self._runner = JobRunner(state.store)
        self._kind = pn.widgets.RadioButtonGroup(
            options=list(KINDS), value=KINDS[0], width=180
        )
        self._device = pn.widgets.Select(
            label="Device", options=list(DEVICES), width=100
        )
        self._epochs = pn.widgets.IntInput(
            label="Fine-tune epochs", value=2, start=1, width=120
        )
        self._use_clusters = pn.widgets.Checkbox(
            label="use saved clusters as extra positives", value=True
        )
        self._start = pn.widgets.Button(label="Start", color="primary", width=90)
        self._cancel = pn.widgets.Button(
            label="Cancel", color="danger", width=90, disabled=True
        )
        self._progress = pn.indicators.Progress(value=0, max=100, width=300)
        self._status = pn.pane.HTML("No job running.", css_classes=["job-status"])
        self._log = pn.pane.HTML(
            "",
            styles={
                "font-family": "monospace",
                "font-size": "10px",
                "white-space": "pre",
                "max-height": "180px",
                "overflow": "auto",
            },
        )
        self._start.on_click(self._on_start)
        self._cancel.on_click(self._on_cancel)
        self._seen_done: set[str] = set()
        self._callback = None
        self._poll()
        if pn.state.curdoc is not None:
            self._callback = pn.state.add_periodic_callback(self._poll, POLL_MS)

    def _on_start(self, _) -> None:
        options = {"device": self._device.value}
        if self._kind.value == "finetune":
            options["epochs"] = int(self._epochs.value)
            options["clusters"] = bool(self._use_clusters.value)
        try:
            info = self._runner.start(self._kind.value, **options)
        except Exception as exc:
            self.state.notify("error", f"Cannot start the job: {exc}")
            return
        self.state.notify(
            "info", f"Started {info.kind} job {info.job_id} → version {info.version}."
        )
        self._poll()

    def _on_cancel(self, _) -> None:
        try:
            info = self._runner.cancel()
        except Exception as exc:
            self.state.notify("error", f"Cannot cancel: {exc}")
            return
        self.state.notify("info", f"Cancelled job {info.job_id}.")
        self._poll()

    def _poll(self) -> None:
        try:
            info = self._runner.status()
        except Exception as exc:  # a corrupt job dir must not kill the session
            self._status.object = f"Cannot read job status: {exc}"
            return
        if info is None:
            self._status.object = "No job yet."
            self._start.disabled, self._cancel.disabled = False, True
            return
        running = not info.finished
        self._start.disabled, self._cancel.disabled = running, not running
        self._progress.value = int(info.percent) if running else 100
        self._progress.bar_color = (
            "primary" if running else "success" if info.succeeded else "danger"
        )
        self._status.object = info.describe()
        try:
            self._log.object = self._runner.log_tail(info.job_id, 12)
        except Exception:
            self._log.object = ""
        if info.succeeded and info.job_id not in self._seen_done:
            first_poll = not self._seen_done and self._callback is None
            self._seen_done.add(info.job_id)
            if not first_poll:
                self._switch_to(info.version)

    def _switch_to(self, version: str) -> None:
        state = self.state
        state.store.reload()
        state.param.version.objects = state.store.versions
        if version in state.store.versions:
            state.version = version
            state.notify(
                "info", f"Re-embedding finished: now showing version {version}."
            )

    def __panel__(self):
        return pn.Column(
            pn.Row(self._kind, self._device),
            pn.Row(self._epochs, self._use_clusters),
            pn.Row(self._start, self._cancel),
            self._progress,
            self._status,
            self._log,
            name="Re-embed",
            sizing_mode="stretch_width",
        )
