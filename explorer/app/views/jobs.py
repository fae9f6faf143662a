"""Re-embedding panel: start an embed / fine-tune job (``explorer.jobs``),
follow its progress (phase, %, img/s, ETA, device, log tail), cancel it, and
switch to the new version when it is done.

The job runs in its own process and keeps its state in the store; the
server's one :class:`explorer.app.services.StoreWatch` reads its status and
pushes every change to this view, so a reload or a second browser shows the
same job and a closed page leaves nothing polling behind. Nothing
here blocks the session for long: starting spawns a process, cancelling
sends SIGTERM and returns (``cancel(wait=False)``).
"""

from __future__ import annotations

import html
import logging
from pathlib import Path

import panel as pn
import param

from explorer.app.services import JobSnapshot, subscribe_session
from explorer.app.state import AppState
from explorer.app.views.deferred import WhenShown
from explorer.jobs import CANCEL, DEVICES, LOG, JobRunner

log = logging.getLogger(__name__)

#: button label -> job kind of :class:`explorer.jobs.JobRunner`
KIND_LABELS = {"embed": "embed", "fine-tune": "finetune"}
NO_CHECKPOINT = "(no version has a checkpoint)"


def progress_text(info, n_sources: int) -> str:
    """What the job's progress bar shows, e.g. ``"embedding 1,200/3,000 cutouts"``.

    Parameters
    ----------
    info : explorer.jobs.JobInfo
        The job's latest status.
    n_sources : int
        Cutouts in the store (what an embed or analyse phase goes through).

    Returns
    -------
    str
    """
    done = round(info.percent / 100 * n_sources)
    if info.finished:
        return f"{info.kind} job {info.phase}"
    if info.phase == "embed":
        return f"embedding {done:,}/{n_sources:,} cutouts"
    if info.phase == "train":
        epochs = getattr(info, "epochs", None)
        epoch = getattr(info, "epoch", None)
        if epochs:
            return f"fine-tuning: epoch {epoch or 0}/{epochs} ({info.percent:.0f} %)"
        return f"fine-tuning ({info.percent:.0f} %)"
    if info.phase == "analyse":
        return f"analysing the new version ({info.percent:.0f} %)"
    return f"{info.phase}: waiting for the job process…"


class JobsView(pn.viewable.Viewer):
    """Launch and watch the store's background re-embedding job."""

    state = param.ClassSelector(class_=AppState)

    def __init__(self, state: AppState, **params) -> None:
        super().__init__(state=state, **params)
        self._runner = JobRunner(state.store)
        self._kind = pn.widgets.RadioButtonGroup(
            options=KIND_LABELS, value="embed", width=180
        )
        self._checkpoint = pn.widgets.Select(
            label="Checkpoint", width=260, css_classes=["job-checkpoint"]
        )
        self._device = pn.widgets.Select(
            label="Device", options=list(DEVICES), width=100, css_classes=["job-device"]
        )
        self._epochs = pn.widgets.IntInput(
            label="Fine-tune epochs",
            value=1,
            start=1,
            end=1000,
            width=120,
            css_classes=["job-epochs"],
        )
        self._use_clusters = pn.widgets.Checkbox(
            label="use saved clusters as extra positives",
            value=False,
            css_classes=["job-clusters"],
        )
        self._use_labels = pn.widgets.Checkbox(
            label="use Similar-tab marks and labels",
            value=False,
            css_classes=["job-labels"],
        )
        self._finetune_options = pn.Row(
            self._epochs, self._use_clusters, self._use_labels, visible=False
        )
        self._start = pn.widgets.Button(label="Start", color="primary", width=90)
        # amber, not red: cancelling deletes nothing (the current version stays)
        self._cancel = pn.widgets.Button(
            label="Cancel", color="warning", width=90, disabled=True
        )
        self._progress = pn.indicators.Progress(
            value=0, max=100, width=300, css_classes=["job-progress"]
        )
        self._progress_label = pn.pane.HTML(
            "no job running", css_classes=["job-progress-label"], margin=(0, 10)
        )
        self._status = pn.pane.HTML("No job yet.", css_classes=["job-status"])
        self._alert = pn.pane.Alert(
            "", alert_type="danger", visible=False, css_classes=["job-error"]
        )
        self._log = pn.pane.HTML(
            "",
            css_classes=["job-log"],
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
        self._kind.param.watch(self._on_kind, "value")
        self._refresh_clusters_when_shown = WhenShown(
            state, "Re-embed", self._refresh_clusters
        )
        state.param.watch(
            lambda *_: self._refresh_clusters_when_shown(), ["clusters_changed"]
        )
        state.param.watch(lambda *_: self._refresh_labels(), ["positives", "negatives"])

        # job id -> the last phase this session saw (to act on transitions)
        self._seen: dict[str, str] = {}
        self._refresh_checkpoints()
        self._refresh_clusters()
        self._refresh_labels()
        self._poll()
        subscribe_session(state.store.root, on_job=self._show)

    # -------------------------------------------------------------- options
    def _refresh_checkpoints(self) -> None:
        """Offer the checkpoints of the store's versions, current one first."""
        try:
            found = self._runner.checkpoints()
        except Exception as exc:  # noqa: BLE001 - a broken config must not kill the page
            log.warning("cannot list checkpoints: %s", exc)
            found = []
        current = self.state.store.current_version
        found.sort(key=lambda c: c["version"] != current)
        options = {f"{c['version']} · {Path(c['path']).name}": c["path"] for c in found}
        if not options:
            self._checkpoint.options = [NO_CHECKPOINT]
            self._checkpoint.disabled = True
            return
        previous = self._checkpoint.value
        self._checkpoint.options = options
        self._checkpoint.disabled = False
        if previous not in options.values():
            self._checkpoint.value = next(iter(options.values()))

    def _refresh_clusters(self) -> None:
        """Disable "use saved clusters" when the store has none."""
        try:
            from explorer.store.annotations import Annotations

            names = Annotations(self.state.store.annotations_path).names()
        except Exception as exc:  # noqa: BLE001 - annotations are optional here
            log.warning("cannot read saved clusters: %s", exc)
            names = []
        if names:
            self._use_clusters.disabled = False
            self._use_clusters.label = (
                f"use the {len(names)} saved cluster(s) as extra positives"
            )
        else:
            self._use_clusters.value = False
            self._use_clusters.disabled = True
            self._use_clusters.label = (
                "use saved clusters as extra positives (none saved yet: "
                "save one in the Clusters tab)"
            )

    def _refresh_labels(self) -> None:
        """Disable "use marks and labels" when the store has neither."""
        try:
            from explorer.jobs.options import label_feedback

            feedback = label_feedback(self.state.store)
        except Exception as exc:  # noqa: BLE001 - annotations are optional here
            log.warning("cannot read Similar-tab marks: %s", exc)
            feedback = {"pairs": [], "groups": {}}
        signs = [sign for _, _, sign in feedback["pairs"]]
        n_groups = len(feedback["groups"])
        if signs or n_groups:
            self._use_labels.disabled = False
            self._use_labels.label = (
                f"use {signs.count(1)} + / {signs.count(-1)} − marked pair(s)"
                + (f" and {n_groups} label group(s)" if n_groups else "")
            )
            return
        self._use_labels.value = False
        self._use_labels.disabled = True
        self._use_labels.label = (
            "use Similar-tab marks and labels (none yet: mark results + / − "
            "in the Similar tab)"
        )

    def _on_kind(self, event) -> None:
        self._finetune_options.visible = event.new == "finetune"
        if event.new == "finetune":
            self._refresh_labels()  # tags and marks made since the page opened

    # ------------------------------------------------------------- actions
    def _show_error(self, text: str) -> None:
        self._alert.object = html.escape(text)
        self._alert.visible = True
        self.state.notify("error", text)

    def _on_start(self, _) -> None:
        self._alert.visible = False
        if self._checkpoint.disabled:
            self._show_error(
                "Cannot start: no version of this store names an existing "
                "checkpoint. Train one with `latentsky train STORE --out "
                "CKPT.pt`, then `latentsky embed STORE --checkpoint CKPT.pt "
                "--version NAME`."
            )
            return
        kind = self._kind.value
        options = {"device": self._device.value, "checkpoint": self._checkpoint.value}
        if kind == "finetune":
            options["epochs"] = int(self._epochs.value)
            options["clusters"] = bool(self._use_clusters.value)
            options["use_labels"] = bool(self._use_labels.value)
        self._start.disabled = True
        try:
            info = self._runner.start(kind, **options)
        except Exception as exc:  # noqa: BLE001 - shown to the user
            self._start.disabled = False
            self._show_error(f"Cannot start the {kind} job: {exc}")
            return
        self._seen[info.job_id] = info.phase
        self.state.notify(
            "info", f"Started {info.kind} job {info.job_id} → version {info.version}."
        )
        self._poll()

    def _on_cancel(self, _) -> None:
        self._cancel.disabled = True
        try:
            info = self._runner.cancel(wait=False)
        except Exception as exc:  # noqa: BLE001 - shown to the user
            self._show_error(f"Cannot cancel: {exc}")
            self._poll()
            return
        self.state.notify("info", f"Cancelling job {info.job_id}…")
        self._poll()

    # ---------------------------------------------------------------- poll
    def _poll(self) -> None:
        """Read the job status now (after this session started or cancelled)."""
        try:
            info = self._runner.status()
            tail = self._runner.log_tail(info.job_id, 12) if info is not None else ""
            snapshot = JobSnapshot(info, tail)
        except Exception as exc:  # noqa: BLE001 - a corrupt job dir must not kill the session
            snapshot = JobSnapshot(error=f"Cannot read the job status: {exc}")
        self._show(snapshot)

    def _show(self, snapshot: JobSnapshot) -> None:
        """Render a job snapshot and act on the job's phase transitions."""
        info = snapshot.info
        if snapshot.error is not None:
            self._status.object = html.escape(snapshot.error)
            self._start.disabled, self._cancel.disabled = False, True
            return
        if info is None:
            self._status.object = "No job yet."
            self._progress_label.object = "no job running"
            self._start.disabled, self._cancel.disabled = False, True
            return
        running = not info.finished
        cancelling = running and (info.directory / CANCEL).exists()
        self._start.disabled = running
        self._cancel.disabled = not running or cancelling
        self._progress.value = int(info.percent) if running else 100
        self._progress_label.object = html.escape(
            progress_text(info, self.state.store.n_sources)
        )
        self._progress.bar_color = (
            "primary"
            if running
            else "success"
            if info.succeeded
            else "warning"
            if info.phase == "cancelled"
            else "danger"
        )
        text = info.describe() + (" (cancelling…)" if cancelling else "")
        self._status.object = html.escape(text)
        self._log.object = html.escape(snapshot.log_tail)
        previous = self._seen.get(info.job_id)
        self._seen[info.job_id] = info.phase
        if previous is None:
            # first sight (page load): show a past failure, switch nothing
            if info.phase == "failed":
                self._alert.object = html.escape(self._failure_text(info))
                self._alert.visible = True
            return
        if previous == info.phase or not info.finished:
            return
        if info.succeeded:
            self._alert.visible = False
            self._switch_to(info.version)
            self._refresh_checkpoints()
        elif info.phase == "cancelled":
            self.state.store.reload()
            self.state.notify(
                "info",
                f"Job {info.job_id} cancelled; version "
                f"{self.state.store.current_version} stays current.",
            )
        else:
            self._show_error(self._failure_text(info))

    def _failure_text(self, info) -> str:
        reason = (info.message or "no message").rstrip(".")
        where = "" if LOG in reason else f" ({info.directory / LOG})"
        return (
            f"The {info.kind} job {info.job_id} failed: {reason}. The previous "
            f"version stays current; see the job log below{where}, fix the cause "
            "and start it again."
        )

    def _switch_to(self, version: str) -> None:
        state = self.state
        state.store.reload()
        versions = state.store.versions
        state.param.version.objects = versions
        if version in versions:
            state.version = version
            state.notify("success", f"Re-embedding finished: now showing {version}.")
        else:
            state.notify(
                "warning",
                f"The job finished but version {version} is not in the store.",
            )

    def __panel__(self):
        return pn.Column(
            pn.pane.HTML(
                "<b>Re-embed the store</b> into a new version: embed with an "
                "existing checkpoint, or fine-tune it first.",
                sizing_mode="stretch_width",
            ),
            pn.Row(self._kind, self._device),
            self._checkpoint,
            self._finetune_options,
            pn.Row(self._start, self._cancel),
            self._progress_label,
            self._progress,
            self._status,
            self._alert,
            self._log,
            name="Re-embed",
            sizing_mode="stretch_width",
        )
