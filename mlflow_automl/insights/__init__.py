"""Insights into an experiment's iterations: charts, explanations, and which runs get them.

=============  ===============================================================================
``charts``     charts from predictions (PNG + the data behind them); public helpers that the
               forecasting charts build on
``explain``    feature importance of the refit best model
``selection``  ``Insights``: which runs get charts and the explanation, within the time budget
=============  ===============================================================================
"""

from mlflow_automl.insights.selection import CHARTED_RUNS, SECONDS_PER_CHART_SET, Insights

__all__ = ["CHARTED_RUNS", "SECONDS_PER_CHART_SET", "Insights"]
