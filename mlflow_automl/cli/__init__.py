"""The command line: ``mlflow-automl train`` / ``sync`` (``train.py``), ``history``
(``history.py``), and the MLproject entry point (``project.py``)."""

from mlflow_automl.cli.train import main

__all__ = ["main"]
