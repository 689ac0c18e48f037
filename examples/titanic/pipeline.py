"""The `main` entry point: dataprep -> automl -> register, as a pipeline of nested runs."""

import argparse
from pathlib import Path

from mlflow_automl import AutoMLConfig, AutoMLStep, Pipeline, PythonScriptStep

parser = argparse.ArgumentParser()
parser.add_argument("--model-name", required=True)
parser.add_argument("--timeout", type=float, default=0.5)
args = parser.parse_args()

here = Path(__file__).parent
dataprep = PythonScriptStep(
    "dataprep", "dataprep.py", outputs=["prepared_data"], source_directory=here
)
config = AutoMLConfig(
    task="classification",
    primary_metric="AUC_weighted",
    training_data=dataprep.output("prepared_data", "train.csv"),
    label_column_name="survived",
    experiment_timeout_minutes=args.timeout,
    n_cross_validations=3,
    random_seed=0,
)
automl = AutoMLStep("automl", config)
register = PythonScriptStep(
    "register",
    "register.py",
    arguments=["--model-name", args.model_name],
    inputs={"model_output": automl.output("model_output")},
    source_directory=here,
)
run = Pipeline([dataprep, automl, register]).submit()
print(f"pipeline run {run.run_id}: steps {[r.info.run_name for r in run.get_children()]}")
