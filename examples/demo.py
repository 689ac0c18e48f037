"""The README's demo: AutoML on the Palmer penguins (a real dataset shipped by `palmerpenguins`).

Runs a classification experiment into the default MLflow store (``sqlite:///mlflow.db`` in the
current folder unless MLFLOW_TRACKING_URI says otherwise), prints the leaderboard, scores the
best model on held-out rows, and says how to open the MLflow UI.

    python examples/demo.py --minutes 1
"""

from __future__ import annotations

import argparse

import mlflow
from palmerpenguins import load_penguins
from sklearn.model_selection import train_test_split

import mlflow_automl as automl


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=1.0, help="experiment budget")
    parser.add_argument("--experiment-name", default="penguins-automl")
    args = parser.parse_args()

    penguins = load_penguins()
    train, test = train_test_split(
        penguins, test_size=0.25, random_state=0, stratify=penguins["species"]
    )
    settings = {
        "experiment_timeout_minutes": args.minutes,
        "primary_metric": "AUC_weighted",
        "n_cross_validations": 5,
    }
    config = automl.AutoMLConfig(
        task="classification",
        training_data=train,
        label_column_name="species",
        **settings,
    )
    run = automl.submit(config, experiment_name=args.experiment_name, show_output=True)

    print("\nLeaderboard (top 10):")
    print(run.get_leaderboard().iloc[:, :6].head(10).to_string(index=False))
    scores = run.score(test)
    print(
        f"\nBest model on {len(test)} held-out penguins: accuracy {scores['accuracy']:.3f}, "
        f"AUC_weighted {scores['AUC_weighted']:.3f}"
    )
    print(f"\nThe runs are in {mlflow.get_tracking_uri()}. See them with:")
    print(f"  mlflow ui --backend-store-uri {mlflow.get_tracking_uri()}")
    print(
        "  then open http://127.0.0.1:5000 and the experiment "
        f"'{args.experiment_name}' (AutoML run {run.run_id})."
    )


if __name__ == "__main__":
    main()
