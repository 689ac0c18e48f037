"""Data guardrails."""

from __future__ import annotations

import pandas as pd

from mlflow_automl.featurize import check_guardrails, plan_featurization


def _by_name(guardrails):
    return {g.name: g for g in guardrails}


def test_titanic_like_guardrails(titanic_like):
    X, y = titanic_like
    plan = plan_featurization(X)
    guardrails = _by_name(check_guardrails(X, y, True, plan, n_dropped_label_rows=4))
    assert "Validation split handling" not in guardrails
    assert {g.status for g in guardrails.values()} <= {"passed", "done", "alerted"}

    balance = guardrails["Class balancing detection"]
    assert balance.status == "passed"
    assert balance.details["class_counts"] == {"1": 357, "0": 212}

    missing = guardrails["Missing feature values imputation"]
    assert missing.status == "done"
    assert missing.details["columns"] == ["Age", "Cabin", "Embarked"]

    cardinality = guardrails["High cardinality feature detection"]
    assert cardinality.status == "done"
    assert {"Ticket", "PassengerId"} <= set(cardinality.details["columns"])
    assert cardinality.details["dropped_id_like"] == ["PassengerId"]

    labels = guardrails["Missing label values"]
    assert labels.status == "done" and labels.details["n_dropped_rows"] == 4
    assert guardrails["Memory issues detection"].status == "passed"


def test_class_imbalance_alerted(breast_cancer):
    X, y = breast_cancer
    # Keep 40 malignant (0) vs all 357 benign (1): ratio 0.11.
    keep = (y == 1) | (y.groupby(y).cumcount() < 40)
    X, y = X[keep], y[keep]
    plan = plan_featurization(X)
    balance = _by_name(check_guardrails(X, y, True, plan))["Class balancing detection"]
    assert balance.status == "alerted"
    assert balance.details["class_counts"] == {"1": 357, "0": 40}
    assert "'0'" in balance.description or "0" in balance.description


def test_clean_numeric_data_passes(breast_cancer):
    X, y = breast_cancer
    plan = plan_featurization(X)
    guardrails = _by_name(check_guardrails(X, y, True, plan))
    assert guardrails["Missing feature values imputation"].status == "passed"
    assert guardrails["High cardinality feature detection"].status == "passed"
    assert guardrails["Missing label values"].status == "passed"


def test_regression_has_no_class_balancing(breast_cancer):
    X, y = breast_cancer
    y = pd.Series(X["mean area"].to_numpy())
    X = X.drop(columns=["mean area"])
    guardrails = _by_name(check_guardrails(X, y, False, plan_featurization(X, task="regression")))
    assert "Class balancing detection" not in guardrails


def test_off_mode_with_missing_values_alerts(titanic_like):
    X, y = titanic_like
    X = X[["Age", "Fare"]]
    plan = plan_featurization(X, "off")
    missing = _by_name(check_guardrails(X, y, True, plan))["Missing feature values imputation"]
    assert missing.status == "alerted" and missing.details["columns"] == ["Age"]
