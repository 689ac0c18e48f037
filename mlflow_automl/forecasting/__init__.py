"""Forecasting, the third task: settings, time-series checks and repairs, rolling-origin
splits, engineered features, statistical learners, forecasters and the fitted model.

=====================  ==========================================================
``parameters``         ``ForecastingParameters`` (the settings as one object)
``timeseries``         parse times, detect series, infer frequency, repair the grid
``data``               ``prepare_forecasting_data``: rolling-origin folds; the plan
``features``           lags, rolling window, Fourier / calendar / holiday features
``statistical``        per-series models (Naive ... AutoArima)
``learners``           their ``Learner`` classes, under Azure's names
``forecasters``        per-series and global forecasters (``fit`` / ``predict``)
``model``              ``AutoMLForecaster``: ``forecast(X_future)``, the logged model
``charts``             forecast vs. actual, error by horizon step
=====================  ==========================================================
"""

from mlflow_automl.forecasting.parameters import ForecastingParameters

__all__ = ["ForecastingParameters"]
