"""``python -m mlflow_automl.cli``: the ``mlflow-automl`` command."""

import sys

from mlflow_automl.cli.train import main

sys.exit(main())
