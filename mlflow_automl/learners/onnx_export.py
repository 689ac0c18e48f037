"""ONNX conversion of learner estimators with skl2onnx, LightGBM and XGBoost included.

skl2onnx knows scikit-learn; the LightGBM and XGBoost converters live in onnxmltools and must be
registered with skl2onnx before a pipeline containing them can be converted.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

# skl2onnx 1.20 emits ai.onnx.ml 5 by default, which it then refuses for tree ensembles.
TARGET_OPSET: dict[str, int] = {"": 17, "ai.onnx.ml": 3}


@functools.cache
def register_onnx_converters() -> None:
    """Register the onnxmltools LightGBM/XGBoost converters with skl2onnx (idempotent)."""
    import lightgbm
    import xgboost
    from onnxmltools.convert.lightgbm.operator_converters.LightGbm import convert_lightgbm
    from onnxmltools.convert.xgboost.operator_converters.XGBoost import convert_xgboost
    from skl2onnx import update_registered_converter
    from skl2onnx.common.shape_calculator import (
        calculate_linear_classifier_output_shapes,
        calculate_linear_regressor_output_shapes,
    )

    classifier_options = {"nocl": [True, False], "zipmap": [True, False, "columns"]}
    for model, alias, convert in (
        (lightgbm.LGBMClassifier, "LightGbmLGBMClassifier", convert_lightgbm),
        (xgboost.XGBClassifier, "XGBoostXGBClassifier", convert_xgboost),
    ):
        update_registered_converter(
            model,
            alias,
            calculate_linear_classifier_output_shapes,
            convert,
            options=classifier_options,
        )
    for model, alias, convert in (
        (lightgbm.LGBMRegressor, "LightGbmLGBMRegressor", convert_lightgbm),
        (xgboost.XGBRegressor, "XGBoostXGBRegressor", convert_xgboost),
    ):
        update_registered_converter(model, alias, calculate_linear_regressor_output_shapes, convert)


def to_onnx(model: Any, X_sample: np.ndarray) -> Any:
    """Convert a fitted estimator or ``Pipeline`` to an ``onnx.ModelProto`` on float32 input.

    Classifiers output plain ``label`` and ``probabilities`` tensors (no ZipMap).
    """
    from skl2onnx import to_onnx as skl_to_onnx

    register_onnx_converters()
    final = model.steps[-1][1] if hasattr(model, "steps") else model
    options = {id(final): {"zipmap": False}} if hasattr(final, "predict_proba") else None
    sample = np.asarray(X_sample[:1], dtype=np.float32)
    return skl_to_onnx(model, sample, options=options, target_opset=TARGET_OPSET)
