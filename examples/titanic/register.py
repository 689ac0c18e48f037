"""Step 3: register the best model of the AutoML step under `--model-name`."""

import argparse
from pathlib import Path

import mlflow

parser = argparse.ArgumentParser()
parser.add_argument("--model_output", required=True, help="the AutoML step's model output")
parser.add_argument("--model-name", required=True)
args = parser.parse_args()

model_uri = (Path(args.model_output) / "model_uri.txt").read_text().strip()
version = mlflow.register_model(model_uri, args.model_name)
with mlflow.start_run():
    mlflow.set_tags({"registered_model": args.model_name, "model_version": version.version})
print(f"registered {model_uri} as {args.model_name} version {version.version}")
