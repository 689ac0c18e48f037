"""MLflow plugin modules of mlflow-automl, one module per MLflow extension point.

Each module here is registered under its MLflow entry-point group in ``setup.cfg``
(``[options.entry_points]``), with a comment saying what it extends. The AutoML engine itself
lives in ``mlflow_automl/`` and never imports from here.
"""
