"""The task names, defined once. Imported by every layer, so it imports nothing."""

from __future__ import annotations

CLASSIFICATION: str = "classification"
REGRESSION: str = "regression"
FORECASTING: str = "forecasting"
TASKS: tuple[str, ...] = (CLASSIFICATION, REGRESSION, FORECASTING)
