"""Ensembles of finished iterations (see :mod:`mlflow_automl.ensemble.estimators`)."""

from mlflow_automl.ensemble.estimators import *  # noqa: F403
