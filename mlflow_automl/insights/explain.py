"""Feature importance of the best model (Azure AutoML's "model explainability"), raw and engineered.

Method
------
The fitted model is a Pipeline ``featurize -> (scale) -> model``. Importances are computed for
the *engineered* features (the columns the estimator sees) and then summed per raw input column
with ``Featurizer.feature_sources()``, so the one-hot, TF-IDF or datetime-part columns of one raw
column add up to that column's raw importance.

* ``method="native"``: the estimator's own importances where they exist. Tree ensembles'
  ``feature_importances_`` are normalised to sum to 1 (for LightGBM these are split counts, its
  default ``importance_type``). Linear models use ``|coef_| * std(feature)`` on the (scaled)
  engineered matrix: the change in the model's output for a one-standard-deviation change of
  the feature; multiclass / one-vs-one coefficient matrices are averaged over their rows. These
  are in units of the model's decision function, not normalised.
* ``method="permutation"``: everything else (KNN, kernel SVM, naive Bayes, calibrated wrappers).
  The rows are featurized (and scaled) once; each engineered column is shuffled in turn and the
  final estimator re-scored. Importance is the mean drop over ``n_repeats`` shuffles of R^2
  (regression) or of prevalence-weighted one-vs-rest ROC AUC (classification).
* Per class (classification): the drop of each class's one-vs-rest ROC AUC under the same
  shuffles, in columns ``importance_<label>``; classes without both positive and negative rows in
  the sample get no column. With permutation, the overall value is exactly the prevalence-weighted
  mean of the per-class values. For binary tasks both class columns are equal (kept for a uniform
  layout). With ``method="native"`` the per-class columns are permutation values (a different
  scale from the overall column) and are omitted when ``time_limit`` leaves no room for them.

Caveats
-------
* Shuffling engineered columns one at a time breaks their joint structure: one one-hot column can
  be "on" together with another of the same raw column, and correlated features share (and can
  mask) each other's importance. Native tree importances are biased towards features with many
  split points. Neither is a causal statement.
* Importance is measured on the rows passed in. Training rows give in-sample values (an overfit
  model looks as if it relied on noise); pass held-out rows for generalisation importance.
* At most ``max_rows`` rows are used (a seeded, stratified subsample for classification), and a
  ``time_limit`` lowers the number of repeats and then the number of rows, so small budgets give
  noisier values. ``Explanation.n_rows`` / ``n_repeats`` report what was actually used.
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import r2_score, roc_auc_score
from sklearn.model_selection import train_test_split

from mlflow_automl.featurize import target
from mlflow_automl.insights.charts import Chart, figure_to_png, new_figure
from mlflow_automl.tasks import get_task

NATIVE = "native"
PERMUTATION = "permutation"
CLASS_PREFIX = "importance_"
MIN_ROWS = 100  # below this the permutation scores are mostly noise
_SAFETY = 0.8  # share of the remaining time the permutation loop plans to use


@dataclass
class Explanation:
    """Feature importances of one fitted model (see the module docstring for the methods).

    ``engineered`` has columns ``feature, raw_feature, importance`` and ``raw`` has
    ``raw_feature, importance``; both add ``importance_<label>`` per class when per-class values
    were computed, and are sorted by ``importance`` descending. ``classes`` lists the labels of
    those per-class columns, in class-code order (``None`` when there are none).
    """

    method: str
    engineered: pd.DataFrame
    raw: pd.DataFrame
    classes: list[str] | None
    n_rows: int = 0  # rows the importances were computed on
    n_repeats: int = 0  # shuffles per feature actually run (0: no permutation was needed)
    seconds: float = 0.0


# --- public API ---------------------------------------------------------------------------------


def explain_model(
    model: Any,
    X: pd.DataFrame,
    y: np.ndarray,
    task: str,
    sample_weight: Any = None,
    max_rows: int = 2000,
    n_repeats: int = 5,
    random_state: int = 0,
    time_limit: float | None = None,
) -> Explanation:
    """Overall (and per-class) importance of raw and engineered features for a fitted model.

    ``model`` is a fitted ``AutoMLClassifier`` / ``AutoMLRegressor``; ``X`` raw rows with the
    training columns; ``y`` integer class codes (classification) or floats (regression).
    """
    start = time.perf_counter()
    deadline = None if time_limit is None else start + max(0.0, float(time_limit))
    pipeline = model.pipeline_
    featurizer = pipeline.named_steps["featurize"]
    estimator = pipeline.steps[-1][1]
    classification = get_task(task).predicts_classes
    n_classes = len(model.classes_) if classification else None

    X = model._frame(X)
    y = np.asarray(y)
    if len(X) == 0 or len(X) != len(y):
        raise ValueError(f"need matching, non-empty X and y; got {len(X)} and {len(y)} rows")
    weights = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    rows = _sample_rows(y if classification else None, len(X), max_rows, random_state)
    X, y = X.iloc[rows], y[rows]
    weights = None if weights is None else weights[rows]
    Z = _engineered_matrix(pipeline, X)

    names = [str(name) for name in featurizer.get_feature_names_out()]
    sources = [str(source) for source in featurizer.feature_sources()]
    scorer = _Scorer(estimator, classification, n_classes)

    # A log1p-target wrapper: its regressor's own importances rank the features as well.
    native = _native_importance(target.inner(estimator), Z, weights)
    permutation = None
    if native is None or classification:
        # Native models only get per-class values when the budget has room for them.
        permutation = _permutation_importance(
            scorer, Z, y, weights, n_repeats, random_state, deadline, required=native is None
        )
    method = NATIVE if native is not None else PERMUTATION
    overall = native if native is not None else permutation.overall
    per_class = {} if permutation is None else permutation.per_class

    labels = [str(label) for label in model.classes_] if classification else []
    engineered = pd.DataFrame({"feature": names, "raw_feature": sources, "importance": overall})
    for code, values in sorted(per_class.items()):
        engineered[CLASS_PREFIX + labels[code]] = values
    raw = engineered.drop(columns="feature").groupby("raw_feature", sort=False).sum()
    return Explanation(
        method=method,
        engineered=_sorted(engineered),
        raw=_sorted(raw.reset_index()),
        classes=[labels[code] for code in sorted(per_class)] or None,
        n_rows=len(Z) if permutation is None else permutation.n_rows,
        n_repeats=0 if permutation is None else permutation.n_repeats,
        seconds=time.perf_counter() - start,
    )


def importance_charts(explanation: Explanation, top: int = 20) -> list[Chart]:
    """Horizontal bar charts of the top ``top`` raw and engineered features, and per class.

    Returns "feature_importance_raw", "feature_importance_engineered" and, when per-class
    columns exist, "feature_importance_per_class" (grouped bars over the top raw features).
    """
    raw, engineered = explanation.raw, explanation.engineered
    common = {"method": explanation.method, "classes": explanation.classes}
    charts = [
        Chart(
            "feature_importance_raw",
            _bar_png(raw, "raw_feature", f"Raw feature importance ({explanation.method})", top),
            {**_table_data(raw), **common},
        ),
        Chart(
            "feature_importance_engineered",
            _bar_png(
                engineered, "feature", f"Engineered feature importance ({explanation.method})", top
            ),
            {**_table_data(engineered), **common},
        ),
    ]
    class_columns = _class_columns(raw)
    if class_columns:
        table = raw[["raw_feature", *class_columns]]
        charts.append(
            Chart(
                "feature_importance_per_class",
                _per_class_png(raw, class_columns, top),
                {**_table_data(table), **common},
            )
        )
    return charts


# --- sampling and featurization -----------------------------------------------------------------


def _sample_rows(y: np.ndarray | None, n: int, max_rows: int, random_state: int) -> np.ndarray:
    """Sorted row positions: all rows, or a seeded (stratified when possible) subsample."""
    if n <= max_rows:
        return np.arange(n)
    positions = np.arange(n)
    if y is not None:
        try:
            kept, _ = train_test_split(
                positions, train_size=max_rows, stratify=y, random_state=random_state
            )
            return np.sort(kept)
        except ValueError:  # a class with a single row cannot be stratified; sample plainly
            pass
    rng = np.random.default_rng(random_state)
    return np.sort(rng.choice(n, size=max_rows, replace=False))


def _engineered_matrix(pipeline: Any, X: pd.DataFrame) -> np.ndarray:
    """The matrix the final estimator sees: featurize (+ scale) applied once."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return np.asarray(pipeline[:-1].transform(X), dtype=np.float64)


def _sorted(table: pd.DataFrame) -> pd.DataFrame:
    return table.sort_values("importance", ascending=False, kind="stable").reset_index(drop=True)


# --- native importances -------------------------------------------------------------------------


def _native_importance(
    estimator: Any, Z: np.ndarray, weights: np.ndarray | None
) -> np.ndarray | None:
    """Tree importances (sum 1) or |coef| * std, or ``None`` when the estimator has neither."""
    n_features = Z.shape[1]
    importances = _attribute(estimator, "feature_importances_")
    if importances is not None and importances.shape == (n_features,):
        total = importances.sum()
        return importances / total if total > 0 else importances
    coef = _attribute(estimator, "coef_")
    if coef is not None and coef.ndim in (1, 2) and coef.shape[-1] == n_features:
        return np.abs(np.atleast_2d(coef)).mean(axis=0) * _std(Z, weights)
    return None


def _attribute(estimator: Any, name: str) -> np.ndarray | None:
    # SVC.coef_ raises AttributeError for non-linear kernels, so hasattr alone is not enough.
    try:
        value = getattr(estimator, name)
    except (AttributeError, ValueError):
        return None
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return None


def _std(Z: np.ndarray, weights: np.ndarray | None) -> np.ndarray:
    if weights is None or weights.sum() <= 0:
        return Z.std(axis=0)
    mean = np.average(Z, axis=0, weights=weights)
    return np.sqrt(np.average((Z - mean) ** 2, axis=0, weights=weights))


# --- permutation importances --------------------------------------------------------------------


class _Scorer:
    """Scores the final estimator on an engineered matrix: overall and per class."""

    def __init__(self, estimator: Any, classification: bool, n_classes: int | None) -> None:
        self.estimator = estimator
        self.classification = classification
        self.n_classes = n_classes

    def predict(self, Z: np.ndarray) -> np.ndarray:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if not self.classification:
                return np.asarray(self.estimator.predict(Z), dtype=np.float64)
            proba = np.asarray(self.estimator.predict_proba(Z), dtype=np.float64)
        seen = np.asarray(self.estimator.classes_, dtype=np.int64)
        if len(seen) == self.n_classes:
            return proba
        full = np.zeros((len(Z), self.n_classes))  # a class unseen in training scores zero
        full[:, seen] = proba
        return full

    def scorable_classes(self, y: np.ndarray) -> list[int]:
        """Classes with positive and negative rows in ``y`` (one-vs-rest AUC needs both)."""
        present = set(np.unique(y).tolist())
        if len(present) < 2:
            return []
        return [code for code in range(self.n_classes) if code in present]

    def score(
        self, prediction: np.ndarray, y: np.ndarray, weights: np.ndarray | None, classes: list[int]
    ) -> tuple[float, np.ndarray]:
        """(overall score, per-class scores aligned with ``classes``)."""
        if not self.classification:
            return float(r2_score(y, prediction, sample_weight=weights)), np.zeros(0)
        per_class = np.array(
            [roc_auc_score(y == k, prediction[:, k], sample_weight=weights) for k in classes]
        )
        w = np.ones(len(y)) if weights is None else weights
        prevalence = np.array([w[y == k].sum() for k in classes])
        return float(per_class @ prevalence / prevalence.sum()), per_class


@dataclass
class _PermutationResult:
    overall: np.ndarray
    per_class: dict[int, np.ndarray]
    n_rows: int
    n_repeats: int


def _permutation_importance(
    scorer: _Scorer,
    Z: np.ndarray,
    y: np.ndarray,
    weights: np.ndarray | None,
    n_repeats: int,
    random_state: int,
    deadline: float | None,
    required: bool,
) -> _PermutationResult | None:
    """Mean score drops when each engineered column is shuffled, within the time budget.

    ``required=False`` (per-class values for a native model) returns ``None`` rather than
    shrinking the sample when one full repeat does not fit in the time left.
    """
    rng = np.random.default_rng(random_state)
    classes = scorer.scorable_classes(y) if scorer.classification else []
    if scorer.classification and not classes:
        # A single-class sample: ROC AUC is undefined, so there is nothing to measure.
        if not required:
            return None
        return _PermutationResult(np.zeros(Z.shape[1]), {}, len(Z), 0)

    def baseline() -> tuple[float, np.ndarray, float]:
        tick = time.perf_counter()
        score, per_class = scorer.score(scorer.predict(Z), y, weights, classes)
        return score, per_class, time.perf_counter() - tick

    base, base_per_class, seconds = baseline()
    repeats = max(1, n_repeats)
    if deadline is not None:
        per_repeat = max(seconds, 1e-4) * max(1, int((np.ptp(Z, axis=0) > 0).sum()))
        left = (deadline - time.perf_counter()) * _SAFETY
        fits = int(left // per_repeat)
        if fits < 1:
            if not required:
                return None
            # Shrink the sample so that one repeat fits (prediction time ~ number of rows).
            target = max(MIN_ROWS, int(len(Z) * max(left, 0.0) / per_repeat))
            if target < len(Z):
                keep = _sample_rows(y if scorer.classification else None, len(Z), target, 0)
                Z, y = Z[keep], y[keep]
                weights = None if weights is None else weights[keep]
                classes = scorer.scorable_classes(y) if scorer.classification else []
                base, base_per_class, seconds = baseline()
            fits = 1
        repeats = min(repeats, fits)

    n_features = Z.shape[1]
    varying = np.flatnonzero(np.ptp(Z, axis=0) > 0)  # shuffling a constant column changes nothing
    drops = np.zeros((0, n_features))
    class_drops = np.zeros((0, len(classes), n_features))
    work = Z.copy()
    for _ in range(repeats):
        tick = time.perf_counter()
        drop = np.zeros(n_features)
        class_drop = np.zeros((len(classes), n_features))
        for j in varying:
            work[:, j] = Z[rng.permutation(len(Z)), j]
            score, per_class = scorer.score(scorer.predict(work), y, weights, classes)
            work[:, j] = Z[:, j]
            drop[j] = base - score
            class_drop[:, j] = base_per_class - per_class
        drops = np.vstack([drops, drop])
        class_drops = np.concatenate([class_drops, class_drop[None]])
        # Stop early when another repeat would overrun the deadline.
        if deadline is not None and time.perf_counter() + (time.perf_counter() - tick) > deadline:
            break
    per_class = {code: class_drops[:, i, :].mean(axis=0) for i, code in enumerate(classes)}
    return _PermutationResult(
        overall=drops.mean(axis=0),
        per_class=per_class,
        n_rows=len(Z),
        n_repeats=len(drops),
    )


# --- charts -------------------------------------------------------------------------------------


def _class_columns(table: pd.DataFrame) -> list[str]:
    return [c for c in table.columns if str(c).startswith(CLASS_PREFIX)]


def _short(label: Any, width: int = 40) -> str:
    text = str(label)
    return text if len(text) <= width else text[: width - 1] + "…"


def _bar_png(table: pd.DataFrame, label_column: str, title: str, top: int) -> bytes:
    head = table.head(top)
    figure = new_figure(7.0, max(2.5, 0.3 * len(head) + 1.2))
    axes = figure.add_subplot()
    positions = np.arange(len(head))
    axes.barh(positions, head["importance"].to_numpy(dtype=np.float64), color="#1f77b4")
    axes.set_yticks(positions, [_short(v) for v in head[label_column]])
    axes.invert_yaxis()  # most important on top
    axes.set_xlabel("importance")
    axes.set_title(title)
    return figure_to_png(figure)


def _per_class_png(raw: pd.DataFrame, class_columns: list[str], top: int) -> bytes:
    head = raw.head(top)
    n_classes = len(class_columns)
    figure = new_figure(7.0, max(3.0, 0.25 * len(head) * max(1, n_classes) ** 0.5 + 1.5))
    axes = figure.add_subplot()
    positions = np.arange(len(head))
    height = 0.8 / n_classes
    for i, column in enumerate(class_columns):
        axes.barh(
            positions + (i - (n_classes - 1) / 2) * height,
            head[column].to_numpy(dtype=np.float64),
            height=height,
            label=_short(column[len(CLASS_PREFIX) :], 25),
        )
    axes.set_yticks(positions, [_short(v) for v in head["raw_feature"]])
    axes.invert_yaxis()
    axes.set_xlabel("drop in one-vs-rest ROC AUC when shuffled")
    axes.set_title("Raw feature importance per class (permutation)")
    axes.legend(loc="lower right", fontsize="small")
    return figure_to_png(figure)


def _table_data(table: pd.DataFrame) -> dict[str, Any]:
    """``{"columns": [...], "data": [[...]]}`` with plain str / float values (NaN -> None)."""
    return {
        "columns": [str(c) for c in table.columns],
        "data": [[_plain(v) for v in row] for row in table.itertuples(index=False, name=None)],
    }


def _plain(value: Any) -> Any:
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, float, np.integer, np.floating)):
        number = float(value)
        return number if math.isfinite(number) else None
    return str(value)
