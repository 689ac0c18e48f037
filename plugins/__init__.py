"""MLflow plugin modules of mlflow-automl, one module per MLflow extension point.

The folder installs as ``mlflow_automl_plugins`` (``setup.py`` maps it), so it cannot collide
with another distribution's ``plugins`` package; import it under that name. Each module here is
registered under its MLflow entry-point group in ``setup.cfg``
(``[options.entry_points]``), with a comment saying what it extends. The AutoML engine itself
lives in ``mlflow_automl/`` and never imports from here.
"""
