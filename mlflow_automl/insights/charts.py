"""Charts of a model's predictions, as PNG images plus the data they were drawn from.

Everything here is computed from predictions only (validation / out-of-fold scores and the true
labels), so the same charts serve child runs, the best model and the model-evaluator plugin.
Figures are drawn with matplotlib's object-oriented API (no pyplot state, no GUI backend).

Charts, as in Azure AutoML (``name`` becomes ``charts/<name>.png`` and ``charts/<name>.json``):

* classification: ``confusion_matrix``, ``precision_recall``, ``roc``, ``lift_curve``,
  ``cumulative_gains``, ``calibration``;
* regression / forecasting: ``predicted_vs_true``, ``residuals_histogram``.

Conventions:

* Every ``data`` dict is plain JSON (lists, floats, ints, str, ``None`` for undefined values)
  and carries a ``"kind"`` key (the chart name); class labels are ``str(label)``.
* Curves are downsampled to at most 200 points for the JSON and the figure (end points kept);
  AUC / average precision are computed on the full curves and agree with
  :mod:`mlflow_automl.evaluation.metrics` (``AUC_micro``, ``AUC_macro``,
  ``average_precision_score_*``).
* Classes absent from ``y_true`` get no one-vs-rest curves; macro averages need two present
  classes (``None`` otherwise), as in the metrics. Figures with more than 10 classes show the 10
  most frequent plus micro/macro; the data holds every class.
* ``sample_weight`` turns counts into weighted sums and is passed to every sklearn curve.
* Non-finite predictions yield no charts (``[]``), mirroring the all-NaN metrics of such a model.

Measured wall time of a full chart set (best of 3; PNG rendering at 90 dpi dominates; 2 shared
cores): classification n=2,000, K=3: 0.40 s; classification n=50,000 binary: 0.45 s;
regression n=50,000: 0.14 s.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn import metrics as skm
from sklearn.calibration import calibration_curve

from mlflow_automl.evaluation.metrics import (
    _check_weights,
    _prepare_classification,
    _prepare_regression,
)
from mlflow_automl.tasks import get_task

CLASSIFICATION_CHARTS: tuple[str, ...] = (
    "confusion_matrix",
    "precision_recall",
    "roc",
    "lift_curve",
    "cumulative_gains",
    "calibration",
)
REGRESSION_CHARTS: tuple[str, ...] = ("predicted_vs_true", "residuals_histogram")

_MAX_POINTS = 200  # per curve, in the JSON and the figure
_MAX_PLOTTED_CLASSES = 10
_CALIBRATION_BINS = 10
_TRUE_VALUE_BINS = 10
_RESIDUAL_BINS = 20
_LABEL_CHARS = 24  # legend / tick labels are cut beyond this
# Population fractions 0, 1 %, ..., 100 % at which lift and gains are reported.
_POPULATION_GRID = np.linspace(0.0, 1.0, 101)
# Recall grid of the macro-averaged precision-recall curve.
_RECALL_GRID = np.linspace(0.0, 1.0, 101)

Points = dict[str, Any]  # one curve: numpy arrays plus scalar summaries


@dataclass
class Chart:
    """One chart: ``name`` (file stem), the PNG bytes, and the JSON-serializable data behind it."""

    name: str
    png: bytes = field(repr=False)
    data: dict[str, Any]


def figure_to_png(figure: Any, dpi: int = 90) -> bytes:
    """Renders a ``matplotlib.figure.Figure`` to PNG bytes."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    return buffer.getvalue()


def new_figure(width: float = 6.0, height: float = 4.5) -> Any:
    """A fresh figure that is not registered with pyplot (safe in threads and servers)."""
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height))


# --------------------------------------------------------------------------------------------
# Shared plumbing
# --------------------------------------------------------------------------------------------


@contextmanager
def quiet() -> Iterator[None]:
    """Chart helper: no numpy / sklearn warnings while the data is computed and drawn."""
    # Degenerate inputs (one class, constant scores, zero weights) make sklearn / numpy warn;
    # the data already says so with None values, so nothing is printed.
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        yield


def json_number(value: Any) -> float | int | None:
    """A JSON-safe scalar: ints stay ints, NaN / inf become None."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return int(value)
    value = float(value)
    return value if np.isfinite(value) else None


def json_numbers(values: Any) -> list:
    """Chart helper: JSON-safe numbers of an array (see :func:`json_number`)."""
    return [json_number(v) for v in np.asarray(values).ravel().tolist()]


def _sample_index(n: int) -> np.ndarray:
    """Indices of at most ``_MAX_POINTS`` evenly spread points, first and last included."""
    if n <= _MAX_POINTS:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, _MAX_POINTS).round().astype(int))


def _points_json(points: Points) -> dict[str, Any]:
    """Curve arrays downsampled together (they share one length); scalars made JSON-safe."""
    arrays = {k: v for k, v in points.items() if isinstance(v, np.ndarray)}
    out = {k: json_number(v) for k, v in points.items() if k not in arrays}
    if arrays:
        index = _sample_index(len(next(iter(arrays.values()))))
        out.update({k: json_numbers(v[index]) for k, v in arrays.items()})
    return out


def _short(label: str) -> str:
    return label if len(label) <= _LABEL_CHARS else label[: _LABEL_CHARS - 1] + "…"


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def label_axes(ax: Any, title: str, xlabel: str, ylabel: str, legend_loc: str = "best") -> None:
    """Chart helper: title, axis labels, the legend when there are labelled artists."""
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3)
    if ax.get_legend_handles_labels()[0]:  # an empty legend() call warns
        ax.legend(fontsize="small", loc=legend_loc)


def render_chart(name: str, figure: Any, data: dict[str, Any]) -> Chart:
    """Chart helper: the figure as PNG with the data it was drawn from, as one ``Chart``."""
    return Chart(name=name, png=figure_to_png(figure), data={"kind": name, **data})


# --------------------------------------------------------------------------------------------
# Classification
# --------------------------------------------------------------------------------------------


@dataclass
class _Classes:
    """Validated classification inputs shared by every chart builder."""

    y: np.ndarray  # class codes 0..K-1
    p: np.ndarray  # (n, K) probabilities
    w: np.ndarray | None
    labels: list[str]
    y_bin: np.ndarray = field(init=False)  # (n, K) one-hot of y
    plotted: list[int] = field(init=False)  # classes drawn in the per-class figures

    def __post_init__(self) -> None:
        k = self.p.shape[1]
        self.y_bin = self.y[:, None] == np.arange(k)[None, :]
        freq = np.bincount(self.y, weights=self.w, minlength=k)
        present = np.flatnonzero(self.y_bin.any(axis=0))
        # Most frequent present classes, drawn in code order.
        top = present[np.argsort(-freq[present], kind="stable")][:_MAX_PLOTTED_CLASSES]
        self.plotted = sorted(int(j) for j in top)

    @property
    def k(self) -> int:
        return self.p.shape[1]

    @property
    def target_classes(self) -> list[int]:
        """Classes of the lift / gains / calibration figures: binary shows the positive class."""
        return [j for j in self.plotted if j == 1] if self.k == 2 else self.plotted


def _one_vs_rest(
    ctx: _Classes,
    points_fn: Callable[[np.ndarray, np.ndarray, np.ndarray | None], Points],
    need_negatives: bool = False,
    codes: Sequence[int] | None = None,
) -> dict[int, Points]:
    """``points_fn(is_class_j, proba_j, weights)`` for each class present in ``y_true``."""
    out: dict[int, Points] = {}
    for j in range(ctx.k) if codes is None else codes:
        col = ctx.y_bin[:, j]
        if not col.any() or (need_negatives and col.all()):
            continue  # curve undefined: no positives (or, for ROC, no negatives)
        out[j] = points_fn(col, ctx.p[:, j], ctx.w)
    return out


def _micro(ctx: _Classes, points_fn: Callable[..., Points]) -> Points | None:
    """The curve of all K one-vs-rest columns pooled, as sklearn's ``average="micro"``."""
    if ctx.k < 2:
        return None
    w = None if ctx.w is None else np.repeat(ctx.w, ctx.k)  # row-major ravel order
    return points_fn(ctx.y_bin.ravel(), ctx.p.ravel(), w)


def _per_class_json(ctx: _Classes, per_class: dict[int, Points]) -> list[dict[str, Any]]:
    return [
        {"label": ctx.labels[j], "code": j, **_points_json(points)}
        for j, points in per_class.items()
    ]


def _curves_data(
    ctx: _Classes, per_class: dict[int, Points], micro: Points | None, macro: Points | None
) -> dict[str, Any]:
    return {
        "labels": ctx.labels,
        "per_class": _per_class_json(ctx, per_class),
        "micro": None if micro is None else _points_json(micro),
        "macro": None if macro is None else _points_json(macro),
    }


def _plot_curves(
    ax: Any, ctx: _Classes, data: dict[str, Any], x: str, y: str, score: str, score_name: str
) -> None:
    """Per-class curves of the plotted classes, then micro / macro averages on top."""
    for curve in data["per_class"]:
        if curve["code"] in ctx.plotted:
            label = f"{_short(curve['label'])} ({score_name} {_fmt(curve[score])})"
            ax.plot(curve[x], curve[y], lw=1.5, label=label)
    for name, style in (("micro", ":"), ("macro", "--")):
        curve = data[name]
        if curve is not None:
            label = f"{name} ({score_name} {_fmt(curve[score])})"
            ax.plot(curve[x], curve[y], color="black", ls=style, lw=2, label=label)
    ax.set_xlim(-0.02, 1.02)
    ax.set_ylim(-0.02, 1.05)


# --- confusion matrix -----------------------------------------------------------------------


def _confusion_matrix_chart(ctx: _Classes) -> Chart:
    pred = np.argmax(ctx.p, axis=1)
    counts = skm.confusion_matrix(ctx.y, pred, labels=np.arange(ctx.k), sample_weight=ctx.w)
    if ctx.w is None:
        counts = counts.astype(np.int64)
    row_sums = counts.sum(axis=1, keepdims=True)
    # Rows of classes absent from y_true stay all zero instead of 0/0.
    normalized = np.divide(counts, row_sums, out=np.zeros(counts.shape), where=row_sums > 0)

    size = min(max(4.5, 0.45 * ctx.k + 2.5), 16.0)
    figure = new_figure(2 * size + 1, size)
    axes = figure.subplots(1, 2)
    ticks = [_short(label) for label in ctx.labels]
    annotate = ctx.k <= 20  # beyond that the numbers cannot be read anyway
    for ax, matrix, title, fmt in (
        (axes[0], counts, "Confusion matrix (counts)", "{:.0f}"),
        (axes[1], normalized, "Normalized by true class", "{:.2f}"),
    ):
        image = ax.imshow(matrix, cmap="Blues", vmin=0, aspect="auto")
        figure.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
        ax.set_title(title)
        ax.set_xlabel("Predicted label")
        ax.set_ylabel("True label")
        if ctx.k <= 40:
            ax.set_xticks(range(ctx.k), ticks, rotation=45 if ctx.k > 3 else 0, ha="right")
            ax.set_yticks(range(ctx.k), ticks)
        if annotate:
            top = matrix.max() if matrix.size else 0
            for (i, j), value in np.ndenumerate(matrix):
                color = "white" if top > 0 and value > 0.6 * top else "black"
                ax.text(j, i, fmt.format(value), ha="center", va="center", color=color)
    figure.tight_layout()
    data = {
        "labels": ctx.labels,
        "counts": [json_numbers(row) for row in counts],
        "normalized": [json_numbers(row) for row in normalized],
    }
    return render_chart("confusion_matrix", figure, data)


# --- precision-recall and ROC ---------------------------------------------------------------


def _pr_points(y: np.ndarray, score: np.ndarray, w: np.ndarray | None) -> Points:
    precision, recall, _ = skm.precision_recall_curve(y, score, sample_weight=w)
    average_precision = skm.average_precision_score(y, score, sample_weight=w)
    return {"precision": precision, "recall": recall, "average_precision": average_precision}


def _precision_recall_chart(ctx: _Classes) -> Chart:
    per_class = _one_vs_rest(ctx, _pr_points)
    macro = None
    if len(per_class) >= 2:
        # sklearn returns recall decreasing; interpolate each class on a common recall grid.
        precision = np.mean(
            [
                np.interp(_RECALL_GRID, c["recall"][::-1], c["precision"][::-1])
                for c in per_class.values()
            ],
            axis=0,
        )
        # Macro AP is the mean of per-class APs (as in metrics.py), not the area of this curve.
        average_precision = np.mean([c["average_precision"] for c in per_class.values()])
        macro = {
            "precision": precision,
            "recall": _RECALL_GRID,
            "average_precision": average_precision,
        }
    data = _curves_data(ctx, per_class, _micro(ctx, _pr_points), macro)

    figure = new_figure()
    ax = figure.subplots()
    _plot_curves(ax, ctx, data, "recall", "precision", "average_precision", "AP")
    label_axes(ax, "Precision-recall", "Recall", "Precision", legend_loc="lower left")
    return render_chart("precision_recall", figure, data)


def _roc_points(y: np.ndarray, score: np.ndarray, w: np.ndarray | None) -> Points:
    fpr, tpr, _ = skm.roc_curve(y, score, sample_weight=w)
    return {"fpr": fpr, "tpr": tpr, "auc": skm.auc(fpr, tpr)}


def _roc_chart(ctx: _Classes) -> Chart:
    per_class = _one_vs_rest(ctx, _roc_points, need_negatives=True)
    macro = None
    if len(per_class) >= 2:
        fpr = np.unique(np.concatenate([c["fpr"] for c in per_class.values()]))
        tpr = np.mean([np.interp(fpr, c["fpr"], c["tpr"]) for c in per_class.values()], axis=0)
        # AUC_macro (metrics.py, sklearn) is the mean of per-class AUCs; the area under the
        # averaged curve differs slightly, so the reported value is the former.
        macro = {"fpr": fpr, "tpr": tpr, "auc": np.mean([c["auc"] for c in per_class.values()])}
    data = _curves_data(ctx, per_class, _micro(ctx, _roc_points), macro)

    figure = new_figure()
    ax = figure.subplots()
    ax.plot([0, 1], [0, 1], color="gray", lw=1, ls="-.", label="random")
    _plot_curves(ax, ctx, data, "fpr", "tpr", "auc", "AUC")
    label_axes(ax, "ROC", "False positive rate", "True positive rate", legend_loc="lower right")
    return render_chart("roc", figure, data)


# --- lift and cumulative gains --------------------------------------------------------------


def _gains_points(y: np.ndarray, score: np.ndarray, w: np.ndarray | None) -> Points:
    """Share of the class's (weighted) positives among the top-scored fraction of the population."""
    order = np.argsort(-score, kind="stable")
    weights = np.ones(len(y)) if w is None else w[order]
    cum_population = np.cumsum(weights)
    cum_positives = np.cumsum(weights * y[order])
    # Only the ends of runs of tied scores: the order among ties is arbitrary.
    ends = np.r_[np.flatnonzero(np.diff(score[order])), len(y) - 1]
    x = np.r_[0.0, cum_population[ends] / cum_population[-1]]
    gains = np.r_[0.0, cum_positives[ends] / cum_positives[-1]]
    return {"gains": np.interp(_POPULATION_GRID, x, gains)}


def _lift_chart(ctx: _Classes, gains: dict[int, Points]) -> Chart:
    fraction = _POPULATION_GRID[1:]  # lift is undefined at 0 % of the population
    lifts = {j: {"lift": g["gains"][1:] / fraction} for j, g in gains.items()}
    data = {
        "labels": ctx.labels,
        "percentage": json_numbers(100 * fraction),
        "per_class": _per_class_json(ctx, lifts),
    }

    figure = new_figure()
    ax = figure.subplots()
    for j in ctx.target_classes:
        ax.plot(100 * fraction, lifts[j]["lift"], lw=1.5, label=_short(ctx.labels[j]))
    ax.axhline(1.0, color="gray", ls="--", lw=1, label="random")
    ax.set_xlim(0, 100)
    label_axes(ax, "Lift curve", "% of population targeted (ranked by probability)", "Lift")
    return render_chart("lift_curve", figure, data)


def _cumulative_gains_chart(ctx: _Classes, gains: dict[int, Points]) -> Chart:
    percent = 100 * _POPULATION_GRID
    percent_gains = {j: {"gains": 100 * g["gains"]} for j, g in gains.items()}
    data = {
        "labels": ctx.labels,
        "percentage": json_numbers(percent),
        "baseline": json_numbers(percent),
        "per_class": _per_class_json(ctx, percent_gains),
    }

    figure = new_figure()
    ax = figure.subplots()
    for j in ctx.target_classes:
        ax.plot(percent, percent_gains[j]["gains"], lw=1.5, label=_short(ctx.labels[j]))
    ax.plot(percent, percent, color="gray", ls="--", lw=1, label="random")
    ax.set_xlim(0, 100)
    ax.set_ylim(0, 102)
    label_axes(
        ax,
        "Cumulative gains",
        "% of population targeted (ranked by probability)",
        "% of positives captured",
        legend_loc="lower right",
    )
    return render_chart("cumulative_gains", figure, data)


# --- calibration ----------------------------------------------------------------------------


def _calibration_points(y: np.ndarray, score: np.ndarray, w: np.ndarray | None) -> Points:
    score = np.clip(score, 0.0, 1.0)  # float round-off must not trip calibration_curve
    # Same binning as calibration_curve(strategy="uniform"), which has no counts or weights.
    bins = np.searchsorted(np.linspace(0.0, 1.0, _CALIBRATION_BINS + 1)[1:-1], score)
    raw = np.bincount(bins, minlength=_CALIBRATION_BINS)
    nonempty = raw > 0
    if w is None:
        fraction, mean_predicted = calibration_curve(
            y, score, pos_label=True, n_bins=_CALIBRATION_BINS, strategy="uniform"
        )
        count = raw[nonempty]
    else:
        count = np.bincount(bins, weights=w, minlength=_CALIBRATION_BINS)[nonempty]
        mean_predicted = np.bincount(bins, weights=w * score, minlength=_CALIBRATION_BINS)
        fraction = np.bincount(bins, weights=w * y, minlength=_CALIBRATION_BINS)
        mean_predicted, fraction = mean_predicted[nonempty] / count, fraction[nonempty] / count
    return {"mean_predicted": mean_predicted, "fraction_of_positives": fraction, "count": count}


def _calibration_chart(ctx: _Classes) -> Chart:
    codes = [1] if ctx.k == 2 else None
    per_class = _one_vs_rest(ctx, _calibration_points, codes=codes)
    data = {
        "labels": ctx.labels,
        "n_bins": _CALIBRATION_BINS,
        "strategy": "uniform",
        "per_class": _per_class_json(ctx, per_class),
    }

    figure = new_figure()
    ax = figure.subplots()
    ax.plot([0, 1], [0, 1], color="gray", ls="--", lw=1, label="perfectly calibrated")
    for curve in data["per_class"]:
        if curve["code"] in ctx.target_classes:
            ax.plot(
                curve["mean_predicted"],
                curve["fraction_of_positives"],
                marker="o",
                lw=1.5,
                label=_short(curve["label"]),
            )
    ax.set_xlim(-0.02, 1.02)
    ax.set_ylim(-0.02, 1.02)
    label_axes(
        ax, "Calibration", "Mean predicted probability", "Fraction of positives", "upper left"
    )
    return render_chart("calibration", figure, data)


def classification_charts(
    y_true: np.ndarray,
    proba: np.ndarray,
    classes: Sequence[Any],
    sample_weight: np.ndarray | None = None,
) -> list[Chart]:
    """All classification charts for class codes ``y_true`` and probabilities ``proba`` (n, K).

    Column ``j`` of ``proba`` is the probability of class code ``j``, whose display label is
    ``classes[j]``. Invalid codes or shapes raise ``ValueError`` (as in the metrics);
    non-finite probabilities yield ``[]``.
    """
    y, p, k = _prepare_classification(y_true, proba, len(classes))
    w = _check_weights(sample_weight, y.shape[0])
    if not np.all(np.isfinite(p)):
        return []
    with quiet():
        ctx = _Classes(y=y, p=p, w=w, labels=[str(c) for c in classes])
        gains = _one_vs_rest(ctx, _gains_points)
        return [
            _confusion_matrix_chart(ctx),
            _precision_recall_chart(ctx),
            _roc_chart(ctx),
            _lift_chart(ctx, gains),
            _cumulative_gains_chart(ctx, gains),
            _calibration_chart(ctx),
        ]


# --------------------------------------------------------------------------------------------
# Regression
# --------------------------------------------------------------------------------------------


def _weighted_bincount(ids: np.ndarray, weights: np.ndarray, n_bins: int) -> np.ndarray:
    return np.bincount(ids, weights=weights, minlength=n_bins)


def _predicted_vs_true_chart(y: np.ndarray, yp: np.ndarray, w: np.ndarray | None) -> Chart:
    n_bins = min(_TRUE_VALUE_BINS, len(np.unique(y)))
    lo, hi = float(y.min()), float(y.max())
    edges = np.linspace(lo, hi, n_bins + 1) if hi > lo else np.array([lo - 0.5, lo + 0.5])
    # Right-closed last bin, so the maximum lands in it.
    ids = np.clip(np.searchsorted(edges, y, side="right") - 1, 0, n_bins - 1)
    weights = np.ones(len(y)) if w is None else w
    total = _weighted_bincount(ids, weights, n_bins)
    mean = _weighted_bincount(ids, weights * yp, n_bins) / total
    std = np.sqrt(_weighted_bincount(ids, weights * (yp - mean[ids]) ** 2, n_bins) / total)
    counts = np.bincount(ids, minlength=n_bins) if w is None else total
    centers = (edges[:-1] + edges[1:]) / 2
    data = {
        "bin_edges": json_numbers(edges),
        "bin_centers": json_numbers(centers),
        "counts": json_numbers(counts),
        "mean_prediction": json_numbers(mean),
        "std_prediction": json_numbers(std),
    }

    figure = new_figure(6.0, 6.0)
    top, bottom = figure.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    top.fill_between(centers, mean - std, mean + std, alpha=0.3, label="±1 std of prediction")
    top.plot(centers, mean, marker="o", lw=1.5, label="mean prediction")
    span = [edges[0], edges[-1]]
    top.plot(span, span, color="black", ls="--", lw=1.5, label="ideal (y = x)", zorder=5)
    label_axes(top, "Predicted vs. true", "", "Predicted value", legend_loc="upper left")
    bottom.bar(centers, counts, width=np.diff(edges) * 0.9, color="gray")
    label_axes(bottom, "", "True value (binned)", "Count")
    figure.tight_layout()
    return render_chart("predicted_vs_true", figure, data)


def _residuals_histogram_chart(y: np.ndarray, yp: np.ndarray, w: np.ndarray | None) -> Chart:
    residuals = y - yp
    n_bins = min(_RESIDUAL_BINS, len(np.unique(residuals)))
    counts, edges = np.histogram(residuals, bins=n_bins, weights=w)
    mean = np.average(residuals, weights=w)
    std = np.sqrt(np.average((residuals - mean) ** 2, weights=w))
    data = {
        "bin_edges": json_numbers(edges),
        "counts": json_numbers(counts),
        "mean": json_number(mean),
        "std": json_number(std),
    }

    figure = new_figure()
    ax = figure.subplots()
    ax.bar(edges[:-1], counts, width=np.diff(edges), align="edge", color="steelblue", alpha=0.8)
    ax.axvline(0.0, color="black", ls="--", lw=1, label="zero error")
    ax.axvline(mean, color="red", lw=1.5, label=f"mean {mean:.3g} (std {std:.3g})")
    label_axes(ax, "Residuals (true − predicted)", "Residual", "Count")
    return render_chart("residuals_histogram", figure, data)


def regression_charts(
    y_true: np.ndarray, y_pred: np.ndarray, sample_weight: np.ndarray | None = None
) -> list[Chart]:
    """All regression charts for targets ``y_true`` and point predictions ``y_pred``.

    Invalid targets or shapes raise ``ValueError``; non-finite predictions yield ``[]``.
    """
    y, yp, w = _prepare_regression(y_true, y_pred, sample_weight)
    if not np.all(np.isfinite(yp)):
        return []
    with quiet():
        return [_predicted_vs_true_chart(y, yp, w), _residuals_histogram_chart(y, yp, w)]


def charts_for(
    task: str,
    y_true: Any,
    prediction: Any,
    classes: Sequence[Any] | None = None,
    sample_weight: Any = None,
) -> list[Chart]:
    """The charts of ``task``: ``prediction`` is the (n, K) probability matrix for
    classification (``classes`` defaults to the codes 0..K-1) and point predictions for
    regression / forecasting."""
    if get_task(task).predicts_classes:  # ValueError for an unknown task
        proba = np.asarray(prediction, dtype=float)
        if classes is None:
            classes = list(range(proba.shape[1] if proba.ndim == 2 else 2))
        return classification_charts(y_true, proba, classes, sample_weight)
    return regression_charts(y_true, prediction, sample_weight)
