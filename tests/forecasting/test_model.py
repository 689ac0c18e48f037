"""`AutoMLForecaster` follows scikit-learn's estimator contract, as the other model classes."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from mlflow_automl.forecasting.model import AutoMLForecaster
from mlflow_automl.learners import get_learner
from mlflow_automl.model import wrap_fitted


@pytest.mark.parametrize("learner_name", ["SeasonalNaive", "LightGBM"])
def test_clone_is_unfitted_and_refits_to_the_same_forecasts(visnights_data, learner_name):
    data, plan = visnights_data
    learner = get_learner(learner_name, "forecasting")
    params = learner.default_params("forecasting", len(data.X), data.X.shape[1])
    forecaster = plan.make_forecaster(learner, params).fit(data.X, data.y)
    model = wrap_fitted(forecaster, "forecasting", None, list(data.X.columns), learner_name, params)
    assert isinstance(model, AutoMLForecaster)
    future = model.future_frame()

    copy = clone(model)
    with pytest.raises(NotFittedError):
        copy.predict(future)
    copy.fit(data.X, data.y)

    np.testing.assert_allclose(copy.predict(future), model.predict(future))
    assert copy.get_params()["learner_name"] == learner_name
