"""Live metrics of the selection: Davies-Bouldin, silhouette, TPCF and xi(r).

Recomputed on every selection in the server's thread pool
(:func:`explorer.app.services.run_off_loop`): the event loop keeps
serving hover and zoom, a spinner shows while it runs, and a generation
counter drops results of selections that were replaced meanwhile (a pending
stale job is cancelled before it starts).
"""

from __future__ import annotations

import logging
import math

import panel as pn
import param
from bokeh.models import ColumnDataSource, Span, Whisker
from bokeh.plotting import figure

from explorer.analysis.metrics import selection_metrics
from explorer.app import services
from explorer.app.state import AppState

log = logging.getLogger(__name__)


def _fmt(score) -> str:
    if score is None:
        return "–"
    value = float(score.value)
    if math.isnan(value):
        return f"<span title='{score.reason}'>n/a: {score.reason}</span>"
    return f"{value:.3f}" + (" *" if getattr(score, "sampled", False) else "")


#: Hover help of the metrics table (what, which way is better, on which points).
DB_HELP = (
    "Davies-Bouldin index: mean ratio of within-cluster spread to the distance "
    "between cluster centres, in the embedding (cosine space of h). Lower is "
    "better separated; 0 is perfect."
)
SILHOUETTE_HELP = (
    "Silhouette: for each point, (distance to the nearest other cluster - mean "
    "distance within its own) / the larger of the two, averaged; in the "
    "embedding. From -1 to 1; higher is better separated."
)
VS_REST_HELP = (
    "Two groups: the selected sources against every other source of the version."
)
WITHIN_HELP = (
    "The version's auto clusters (Leiden communities of the k-NN graph, or "
    "HDBSCAN if analysed with --clusters hdbscan) inside the selection, sources "
    "in no cluster left out: does the selection split into distinct groups?"
)


def _tip(text: str, help_text: str) -> str:
    """``text`` with ``help_text`` as its hover tooltip (and a dotted underline)."""
    return (
        f"<span title='{help_text}' style='text-decoration:underline dotted;"
        f"cursor:help'>{text}</span>"
    )


#: What each TPCF sigma is, as the panel says it.
SIGMA_LABELS = {
    "poisson": "Poisson σ (paper: Σ(1+ξ)/√DD)",
    "bootstrap": "bootstrap σ over {n} resamples of the sources",
    "jackknife": "jackknife σ over {n} groups of sources",
}


def sigma_label(tpcf) -> str:
    """Which sigma the TPCF score carries, in words."""
    method = getattr(tpcf, "sigma_method", "poisson")
    return SIGMA_LABELS.get(method, method).format(n=getattr(tpcf, "n_resamples", 0))


def tpcf_help(tpcf) -> str:
    """One line: what the TPCF score measures, which way is better, on what, r."""
    dims = getattr(tpcf, "n_components", 2)
    return (
        "TPCF score = Σ ξ(r) over 20 separation bins: excess of close pairs over "
        "a Gaussian with the selection's mean and covariance (higher = more "
        f"clustered structure, 0 = Gaussian); computed on {tpcf.n:,} selected "
        "points (a seeded sample above 20 000) projected on their "
        f"{dims} principal axes; "
        f"r is the pair separation in those PCA coordinates (embedding units, "
        "unit-norm vectors)."
    )


def summary_html(result: dict) -> str:
    """HTML table of a :func:`selection_metrics` result."""
    rest, within, tpcf = result["vs_rest"], result["within"], result["tpcf"]
    if math.isnan(float(tpcf.score)):
        tpcf_text = f"n/a: {tpcf.reason}"
    else:
        tpcf_text = (
            f"{tpcf.score:.2f} ± {tpcf.sigma:.2f} "
            f"<small class='tpcf-sigma'>({sigma_label(tpcf)})</small>"
        )
    n_clusters = within["davies_bouldin"].n_clusters if within else 0
    rows = [
        (
            "",
            _tip("vs rest", VS_REST_HELP),
            _tip(f"{n_clusters} auto clusters", WITHIN_HELP),
        ),
        (
            _tip("Davies–Bouldin ↓", DB_HELP),
            _fmt(rest["davies_bouldin"]),
            _fmt(within["davies_bouldin"]) if within else "–",
        ),
        (
            _tip("silhouette ↑", SILHOUETTE_HELP),
            _fmt(rest["silhouette"]),
            _fmt(within["silhouette"]) if within else "–",
        ),
    ]
    body = "".join(f"<tr><th>{a}</th><td>{b}</td><td>{c}</td></tr>" for a, b, c in rows)
    note = (
        " · * computed on a seeded random sample of the points"
        if result["sampled"]
        else ""
    )
    return (
        f"<div class='metrics-summary'><b>{result['n']:,}</b> selected · "
        f"TPCF score <b class='tpcf-score'>{tpcf_text}</b>"
        f"<div class='tpcf-help' style='font-size:11px;opacity:0.8'>"
        f"{tpcf_help(tpcf)}</div>"
        f"<table style='font-size:12px;margin-top:4px'>{body}</table>"
        f"<small>{result['seconds'] * 1000:.0f} ms{note}</small></div>"
    )


def xi_columns(result: dict | None) -> dict[str, list[float]]:
    """Columns ``r``, ``xi``, ``lower``, ``upper`` (xi -+ sigma) of the TPCF
    xi(r) of a :func:`selection_metrics` result; empty if undefined."""
    tpcf = result["tpcf"] if result else None
    if tpcf is None or len(tpcf.r) == 0:
        return {"r": [], "xi": [], "lower": [], "upper": []}
    r = [float(v) for v in tpcf.r]
    xi = [float(v) for v in tpcf.xi]
    sigma = [float(v) for v in tpcf.sigma_r]
    return {
        "r": r,
        "xi": xi,
        "lower": [x - e for x, e in zip(xi, sigma, strict=True)],
        "upper": [x + e for x, e in zip(xi, sigma, strict=True)],
    }


def xi_figure(source: ColumnDataSource) -> figure:
    """The xi(r) plot: a curve with sigma whiskers and the xi = 0 line.

    Built once per session; a selection only replaces ``source.data``, so
    no Bokeh models are created or dropped (a new HoloViews plot per
    selection cost ~0.3 s of the server's event loop at every click).
    """
    fig = figure(
        height=170,
        sizing_mode="stretch_width",
        toolbar_location=None,
        tools="",
        title="two-point correlation of the selection",
        x_axis_label="r: pair separation in the selection's PCA plane "
        "(embedding units)",
        y_axis_label="ξ(r)",
        background_fill_color="#0d1117",
        border_fill_color="#0d1117",
    )
    fig.title.text_font_size = "10pt"
    fig.title.text_color = fig.xaxis.axis_label_text_color = "#c9d1d9"
    fig.yaxis.axis_label_text_color = "#c9d1d9"
    for axis in (fig.xaxis, fig.yaxis):
        axis.major_label_text_color = "#8b949e"
    fig.grid.grid_line_color = "#30363d"
    fig.add_layout(
        Span(location=0, dimension="width", line_color="#666666", line_dash="dotted")
    )
    fig.add_layout(
        Whisker(
            source=source,
            base="r",
            lower="lower",
            upper="upper",
            line_color="#7df9ff",
            line_alpha=0.6,
        )
    )
    fig.line("r", "xi", source=source, color="#7df9ff", line_width=2)
    return fig


class MetricsView(pn.viewable.Viewer):
    """Davies–Bouldin, silhouette and TPCF of the current selection."""

    state = param.ClassSelector(class_=AppState)

    def __init__(self, state: AppState, **params) -> None:
        super().__init__(state=state, **params)
        self._generation = 0
        self._future = None
        self._spinner = pn.indicators.LoadingSpinner(
            value=False, size=20, color="light", bgcolor="dark"
        )
        self._summary = pn.pane.HTML(
            "Select sources to see their metrics.",
            css_classes=["metrics-panel"],
            sizing_mode="stretch_width",
        )
        self._xi = ColumnDataSource(xi_columns(None))
        self._plot = pn.pane.Bokeh(
            xi_figure(self._xi), sizing_mode="stretch_width", height=180
        )
        self.result: dict | None = None

    @param.depends("state.selection_ids", watch=True)
    def _recompute(self) -> None:
        self._generation += 1
        generation = self._generation
        if self._future is not None:
            self._future.cancel()  # a stale job that has not started never runs
        rows = self.state.selection_rows
        if len(rows) == 0:
            self._spinner.value = False
            self._summary.object = "Select sources to see their metrics."
            self._xi.data = xi_columns(None)
            return
        data = self.state.data
        clusters = data.table["cluster"].to_numpy() if "cluster" in data.table else None
        self._spinner.value = True
        self._summary.object = f"computing metrics of {len(rows):,} sources…"

        def work() -> dict:
            return selection_metrics(
                data.embeddings, rows, clusters=clusters, ids=data.ids
            )

        def done(result: dict) -> None:
            if generation == self._generation:  # else a newer selection replaced it
                self.show(result)

        def failed(exc: Exception) -> None:
            if generation == self._generation:
                log.error("metrics failed: %s", exc)
                self._spinner.value = False
                self._summary.object = f"Metrics failed: {exc}"

        # the result comes back on the session's loop, under the document lock:
        # show() changes Bokeh models (the xi(r) source) directly
        self._future = services.run_off_loop(
            self._xi.document or pn.state.curdoc,
            work,
            done,
            failed,
            pool=services.metrics_executor(),
        )

    def show(self, result: dict) -> None:
        """Display a :func:`selection_metrics` result (table and xi(r) plot)."""
        self.result = result
        self._summary.object = summary_html(result)
        self._xi.data = xi_columns(result)
        self._spinner.value = False

    def __panel__(self):
        return pn.Column(
            pn.Row(pn.pane.HTML("<b>Selection metrics</b>"), self._spinner),
            self._summary,
            self._plot,
            sizing_mode="stretch_width",
            css_classes=["metrics-view"],
        )
