"""``python -m mlflow_automl.project``: the MLproject entry point, kept at its published name
(MLproject files name it); the code is in :mod:`mlflow_automl.cli.project`."""

from mlflow_automl.cli.project import main

__all__ = ["main"]

if __name__ == "__main__":
    main()
