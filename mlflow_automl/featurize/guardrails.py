"""Azure-style data guardrails computed from the raw data and the featurization plan.

Statuses: "passed" (nothing found), "done" (something was found and fixed automatically),
"alerted" (something was found that the user should look at).  The orchestrator adds the
"Validation split handling" guardrail itself.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import pandas as pd

from .plan import FeaturizationPlan

# Azure: a dataset is imbalanced when minority / majority class size <= 20%.
IMBALANCE_RATIO = 0.2
# Alert when the estimated featurized matrix would take more than this share of RAM.
MEMORY_SHARE = 0.5
_FALLBACK_MEMORY_BYTES = 8 * 2**30
# Rough output widths per detected type, used only for the memory estimate.
_WIDTH_ESTIMATE = {"DateTime": 6, "Text": 100, "CategoricalHash": 1}


@dataclass
class Guardrail:
    name: str
    status: str  # "passed" | "done" | "alerted"
    description: str
    details: dict


def _class_balance(y: pd.Series) -> Guardrail:
    name = "Class balancing detection"
    counts = y.value_counts()
    class_counts = {str(k): int(v) for k, v in counts.items()}
    ratio = float(counts.min() / counts.max()) if len(counts) else 1.0
    details = {"class_counts": class_counts, "minority_to_majority_ratio": round(ratio, 4)}
    if len(counts) > 1 and ratio <= IMBALANCE_RATIO:
        smallest = counts.idxmin()
        return Guardrail(
            name,
            "alerted",
            f"Imbalanced classes: the smallest class {smallest!r} has {int(counts.min())} rows, "
            f"{ratio:.1%} of the largest class ({int(counts.max())} rows). Consider a metric "
            "robust to imbalance (AUC_weighted, average_precision) or rebalancing.",
            details,
        )
    return Guardrail(name, "passed", "No class imbalance detected.", details)


def _missing_values(X: pd.DataFrame, plan: FeaturizationPlan) -> Guardrail:
    name = "Missing feature values imputation"
    counts = {str(c): int(X[c].isna().sum()) for c in plan.imputed_columns}
    if counts:
        return Guardrail(
            name,
            "done",
            "Missing feature values were detected and imputed.",
            {"columns": list(plan.imputed_columns), "missing_counts": counts},
        )
    if plan.mode == "off" and plan.has_missing_values:
        missing = [c for c in plan.feature_columns if X[c].isna().any()]
        return Guardrail(
            name,
            "alerted",
            "Featurization is off and some columns have missing values; only learners that "
            "accept NaN can use them.",
            {"columns": missing},
        )
    return Guardrail(name, "passed", "No missing feature values were detected.", {"columns": []})


def _high_cardinality(plan: FeaturizationPlan) -> Guardrail:
    name = "High cardinality feature detection"
    target_encoded = plan.columns_with_transformation("TargetEncoder")
    hashed = plan.columns_with_transformation("HashOneHotEncoder")
    id_like = plan.columns_of_type("Hashes", dropped=True)
    columns = list(dict.fromkeys(target_encoded + hashed + id_like))
    details = {
        "columns": columns,
        "target_encoded": target_encoded,
        "hashed": hashed,
        "dropped_id_like": id_like,
    }
    if columns:
        return Guardrail(
            name,
            "done",
            "High cardinality columns were detected and target-encoded, hashed, or dropped as "
            "identifiers.",
            details,
        )
    return Guardrail(name, "passed", "No high cardinality columns were detected.", details)


def _missing_labels(n_dropped_label_rows: int) -> Guardrail:
    name = "Missing label values"
    details = {"n_dropped_rows": int(n_dropped_label_rows)}
    if n_dropped_label_rows > 0:
        return Guardrail(
            name,
            "done",
            f"{n_dropped_label_rows} rows with a missing label were removed from training.",
            details,
        )
    return Guardrail(name, "passed", "No missing label values were detected.", details)


def _total_memory_bytes() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return _FALLBACK_MEMORY_BYTES


def _memory(X: pd.DataFrame, plan: FeaturizationPlan) -> Guardrail:
    name = "Memory issues detection"
    width = 0
    for item in plan.summary:
        if item.dropped:
            continue
        if item.type_detected == "Categorical" and "OneHotEncoder" in item.transformations:
            width += int(X[item.raw_feature_name].nunique())
        else:
            width += _WIDTH_ESTIMATE.get(item.type_detected, 1)
            width += "MissingIndicator" in item.transformations
    estimate = len(X) * width * 8  # dense float64
    available = _total_memory_bytes()
    details = {"estimated_bytes": int(estimate), "total_memory_bytes": int(available)}
    if estimate > MEMORY_SHARE * available:
        return Guardrail(
            name,
            "alerted",
            "The featurized data may not fit in memory; consider sampling rows or dropping "
            "columns.",
            details,
        )
    return Guardrail(name, "passed", "No memory issues were detected.", details)


def check_guardrails(
    X: pd.DataFrame,
    y: pd.Series,
    classes: bool,
    plan: FeaturizationPlan,
    n_dropped_label_rows: int = 0,
) -> list[Guardrail]:
    """Guardrails for training data ``X`` / labels ``y`` (rows with missing labels removed);
    ``classes``: the labels are classes (the task says so), so class balance is checked."""
    guardrails = []
    if classes:
        guardrails.append(_class_balance(pd.Series(y)))
    guardrails += [
        _missing_values(X, plan),
        _high_cardinality(plan),
        _missing_labels(n_dropped_label_rows),
        _memory(X, plan),
    ]
    return guardrails


def guardrail_frame(rows: list[Guardrail]) -> pd.DataFrame:
    """The guardrails as the table logged with the AutoML run."""
    columns = ["name", "status", "description", "details"]
    return pd.DataFrame(
        [[r.name, r.status, r.description, str(r.details)] for r in rows], columns=columns
    )
