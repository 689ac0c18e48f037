"""The primary metric of a generated script, as in :mod:`mlflow_automl.evaluation.metrics`.

Only the experiment's primary metric is written into a script, with or without sample weights,
so the script holds no branch that never runs.
"""

from __future__ import annotations

# Classification: ``y`` class codes, ``proba`` (n, K) probabilities; regression: ``y`` and
# ``predicted`` floats. ``w`` is the weight vector (only when the data has a weight column).
_CLASSIFICATION = {
    "accuracy": (
        "from sklearn.metrics import accuracy_score",
        "return accuracy_score(y, proba.argmax(axis=1){w})",
    ),
    "precision_score_weighted": (
        "from sklearn.metrics import precision_score",
        'return precision_score(y, proba.argmax(axis=1), average="weighted"{w}, zero_division=0)',
    ),
    "norm_macro_recall": (
        "from sklearn.metrics import recall_score",
        """# Macro recall over the classes present, rescaled so that chance (1/K) is 0.
    k = proba.shape[1]
    recall = recall_score(
        y, proba.argmax(axis=1), labels=np.unique(y), average="macro"{w}, zero_division=0
    )
    return (recall - 1 / k) / (1 - 1 / k)""",
    ),
    "AUC_weighted": (
        "from sklearn.metrics import roc_auc_score",
        """# One-vs-rest per class present in y, averaged by class frequency.
    one_hot = (y[:, None] == np.arange(proba.shape[1])[None, :]).astype(int)
    present = one_hot.sum(axis=0) > 0
    return roc_auc_score(one_hot[:, present], proba[:, present], average="weighted"{w})""",
    ),
    "average_precision_score_weighted": (
        "from sklearn.metrics import average_precision_score",
        """# One-vs-rest per class present in y, averaged by class frequency.
    one_hot = (y[:, None] == np.arange(proba.shape[1])[None, :]).astype(int)
    present = one_hot.sum(axis=0) > 0
    return average_precision_score(
        one_hot[:, present], proba[:, present], average="weighted"{w}
    )""",
    ),
}

_REGRESSION = {
    "normalized_root_mean_squared_error": (
        "from sklearn.metrics import root_mean_squared_error",
        "return root_mean_squared_error(y, predicted{w}) / np.ptp(y)  # divided by the range",
    ),
    "normalized_mean_absolute_error": (
        "from sklearn.metrics import mean_absolute_error",
        "return mean_absolute_error(y, predicted{w}) / np.ptp(y)  # divided by the range",
    ),
    "r2_score": ("from sklearn.metrics import r2_score", "return r2_score(y, predicted{w})"),
}

_SPEARMAN = (
    "from scipy import stats",
    "return stats.spearmanr(y, predicted).statistic",
)
_WEIGHTED_SPEARMAN = (
    "from scipy import stats",
    """# Weighted Pearson correlation of the ranks.
    ry, rp = stats.rankdata(y), stats.rankdata(predicted)
    my, mp = np.average(ry, weights=w), np.average(rp, weights=w)
    cov = np.average((ry - my) * (rp - mp), weights=w)
    var_y = np.average((ry - my) ** 2, weights=w)
    var_p = np.average((rp - mp) ** 2, weights=w)
    return cov / np.sqrt(var_y * var_p)""",
)


def metric_code(classification: bool, metric: str, weighted: bool) -> tuple[str, str]:
    """``(import line, body of score(...))`` for ``metric`` of a classification (or
    regression) task; ``ValueError`` if not written."""
    if metric == "spearman_correlation":
        return _WEIGHTED_SPEARMAN if weighted else _SPEARMAN
    table = _CLASSIFICATION if classification else _REGRESSION
    if metric not in table:
        raise ValueError(f"no code generation for primary metric {metric!r}")
    import_line, body = table[metric]
    return import_line, body.replace("{w}", ", sample_weight=w" if weighted else "")
