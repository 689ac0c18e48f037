"""Nearest-neighbour learners."""

from __future__ import annotations

from sklearn import neighbors

from mlflow_automl.learners.base import CLASSIFICATION, REGRESSION, Learner
from mlflow_automl.search.space import Domain, Int


class KNNLearner(Learner):
    """``KNN`` -> sklearn ``KNeighborsClassifier`` / ``KNeighborsRegressor``.

    Distances need comparable feature scales, hence the standard scaler; scikit-learn's
    neighbours estimators take no sample weights. ``weights="distance"`` is not searched:
    skl2onnx 1.20 converts it as if uniform, silently changing predictions.
    """

    name = "KNN"
    forecasting = True
    estimators = {
        CLASSIFICATION: neighbors.KNeighborsClassifier,
        REGRESSION: neighbors.KNeighborsRegressor,
    }
    onnx_compatible = True
    scaler = "standard"
    supports_sample_weight = False
    relative_cost = 0.5  # cheap to fit; prediction cost grows with the training set
    defaults = {"n_neighbors": 5}

    def search_space(self, task: str, n_rows: int, n_features: int) -> dict[str, Domain]:
        # More neighbours than half the rows averages away everything local.
        return {"n_neighbors": Int(1, max(1, min(512, n_rows // 2)), log=True)}
