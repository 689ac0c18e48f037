"""The training data as an MLflow dataset record, at a bounded cost, and reading it back."""

from __future__ import annotations

import json
import warnings

import mlflow
import numpy as np
import pandas as pd

from mlflow_automl.tracking.store import get_run

# Rows read for a dataset's digest and schema: MLflow's own digest hashes the first 10,000 rows
# but types every cell of the frame to find string columns, and infers the schema from every
# row; on 200k x 30 that was 3.6 s on a quiet machine and 17 s on a busy one.
DATASET_SAMPLE_ROWS = 10_000


def dataset_entity(
    frame: pd.DataFrame, label: str, source: str | None, name: str
) -> mlflow.entities.Dataset:
    """The MLflow dataset record of ``frame`` at a cost bounded by :data:`DATASET_SAMPLE_ROWS`.

    Small frames get exactly what ``mlflow.data.from_pandas`` gives. A larger frame's digest
    hashes a bounded sample (its first rows and rows spread evenly over the rest), its row count
    and column names; the schema is inferred on that sample plus one row per column with a
    missing value (so optional columns stay optional); the profile counts the whole frame.
    """
    from mlflow.entities import Dataset

    sample = frame
    digest = None
    if len(frame) > DATASET_SAMPLE_ROWS:
        half = DATASET_SAMPLE_ROWS // 2
        spread = np.linspace(half, len(frame) - 1, DATASET_SAMPLE_ROWS - half).astype(int)
        missing = frame.isna().to_numpy()
        first_missing = missing.argmax(axis=0)[missing.any(axis=0)]
        positions = np.unique(np.concatenate([np.arange(half), spread, first_missing]))
        sample = frame.iloc[positions]
        digest = _frame_digest(sample, len(frame))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # MLflow's integer-column schema hint
        dataset = mlflow.data.from_pandas(
            sample, source=source, targets=label, name=name, digest=digest
        )
        fields = dataset.to_dict()  # the schema is inferred here
    profile = json.dumps({"num_rows": len(frame), "num_elements": int(frame.size)})
    return Dataset(
        name=fields["name"],
        digest=fields["digest"],
        source_type=fields["source_type"],
        source=fields["source"],
        schema=fields.get("schema"),
        profile=profile,
    )


def _frame_digest(sample: pd.DataFrame, n_rows: int) -> str:
    """MLflow's pandas digest (hashed string and number columns, row count, column names), of
    ``sample`` standing for a frame of ``n_rows``."""
    from mlflow.data.digest_utils import get_normalized_md5_digest

    strings = sample.columns[(sample.map(type) == str).all(0)]  # noqa: E721 (as MLflow)
    numbers = sample.select_dtypes(include=[np.number]).columns
    hashed = sample[strings.union(numbers)]
    return get_normalized_md5_digest(
        [pd.util.hash_pandas_object(hashed).values, np.int64(n_rows)]
        + [str(c).encode() for c in sample.columns]
    )


def training_dataset(run_id: str) -> tuple[str | None, str] | None:
    """(source path or None, digest) of the training dataset logged on ``run_id``."""
    for dataset_input in get_run(run_id).inputs.dataset_inputs:
        dataset = dataset_input.dataset
        try:
            uri = json.loads(dataset.source).get("uri")
        except (TypeError, ValueError, AttributeError):
            uri = None
        return uri, dataset.digest
    return None


def training_data_digest(frame: pd.DataFrame, label: str, source: str) -> str:
    """The digest ``log_training_dataset`` records for this frame."""
    return dataset_entity(frame, label, source if "/" in source else None, "training_data").digest
