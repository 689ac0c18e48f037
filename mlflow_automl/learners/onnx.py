"""ONNX conversion of learner estimators with skl2onnx, LightGBM, XGBoost and CatBoost included.

skl2onnx knows scikit-learn; the LightGBM and XGBoost converters live in onnxmltools and must be
registered with skl2onnx before a pipeline containing them can be converted. Both are wrapped to
fix onnxmltools 1.16 discrepancies: LightGBM's float64 split thresholds are made exact on float32
input, and binary XGBoost's base score is always applied as a margin. CatBoost exports its own
graph (one tree-ensemble node), which is placed into the pipeline's graph. A regressor fitted on
``log1p(y)`` (``featurize/target.py``) is its regressor's graph followed by ``exp(.) - 1``.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from mlflow_automl.tasks.names import CLASSIFICATION, REGRESSION

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
    from sklearn.compose import TransformedTargetRegressor

    classifier_options = {"nocl": [True, False], "zipmap": [True, False, "columns"]}

    def convert_lightgbm_exact(scope: Any, operator: Any, container: Any) -> None:
        model = operator.raw_operator
        operator.raw_operator = _Float32ThresholdModel(model)
        try:
            convert_lightgbm(scope, operator, container)
        finally:
            operator.raw_operator = model

    def convert_xgboost_exact(scope: Any, operator: Any, container: Any) -> None:
        first = len(container.nodes)
        convert_xgboost(scope, operator, container)
        _fix_binary_xgboost_base_margin(operator.raw_operator, container.nodes[first:])

    for model, alias, convert in (
        (lightgbm.LGBMClassifier, "LightGbmLGBMClassifier", convert_lightgbm_exact),
        (xgboost.XGBClassifier, "XGBoostXGBClassifier", convert_xgboost_exact),
    ):
        update_registered_converter(
            model,
            alias,
            calculate_linear_classifier_output_shapes,
            convert,
            options=classifier_options,
        )
    for model, alias, convert in (
        (lightgbm.LGBMRegressor, "LightGbmLGBMRegressor", convert_lightgbm_exact),
        (xgboost.XGBRegressor, "XGBoostXGBRegressor", convert_xgboost),
        (TransformedTargetRegressor, "MlflowAutomlLogTarget", _convert_log_target),
    ):
        update_registered_converter(model, alias, calculate_linear_regressor_output_shapes, convert)
    from mlflow_automl.learners.boosting import CatBoostLearner

    if not CatBoostLearner.available():
        return
    update_registered_converter(
        CatBoostLearner.estimators[CLASSIFICATION],
        "CatBoostCatBoostClassifier",
        calculate_linear_classifier_output_shapes,
        _convert_catboost,
        parser=_parse_catboost_classifier,
        options=classifier_options,
    )
    update_registered_converter(
        CatBoostLearner.estimators[REGRESSION],
        "CatBoostCatBoostRegressor",
        calculate_linear_regressor_output_shapes,
        _convert_catboost,
    )


def _convert_log_target(scope: Any, operator: Any, container: Any) -> None:
    """A regressor fitted on ``log1p(y)``: its own graph, then ``exp(z) - 1`` back to y's
    scale. Any other target function is refused rather than exported without it."""
    from skl2onnx.algebra.onnx_operator import OnnxSubEstimator
    from skl2onnx.algebra.onnx_ops import OnnxExp, OnnxSub

    model = operator.raw_operator
    if model.func is not np.log1p or model.inverse_func is not np.expm1:
        raise NotImplementedError(f"no ONNX converter for target function {model.func!r}")
    version = container.target_opset
    log_prediction = OnnxSubEstimator(model.regressor_, operator.inputs[0], op_version=version)
    prediction = OnnxSub(
        OnnxExp(log_prediction, op_version=version),
        np.array([1.0], dtype=np.float32),
        op_version=version,
        output_names=operator.outputs[:1],
    )
    prediction.add_to(scope, container)


def _parse_catboost_classifier(
    scope: Any, model: Any, inputs: list[Any], custom_parsers: Any = None
) -> list[Any]:
    """A label and a probability tensor: skl2onnx tells classifiers by scikit-learn's
    ``ClassifierMixin``, which CatBoost's classifier lacks, and would give it one output."""
    from skl2onnx.common.data_types import Int64TensorType, guess_tensor_type

    operator = scope.declare_local_operator("CatBoostCatBoostClassifier", model)
    operator.inputs = inputs
    operator.outputs.append(scope.declare_local_variable("label", Int64TensorType()))
    probabilities = guess_tensor_type(inputs[0].type)
    operator.outputs.append(scope.declare_local_variable("probabilities", probabilities))
    return operator.outputs


def _convert_catboost(scope: Any, operator: Any, container: Any) -> None:
    """CatBoost's own ONNX export, whose first node (TreeEnsembleClassifier: label and
    probabilities; TreeEnsembleRegressor: predictions) reads the pipeline's features. The
    ZipMap CatBoost appends is left out: the engine's graphs output plain tensors."""
    from catboost.utils import convert_to_onnx_object
    from onnx import helper

    exported = convert_to_onnx_object(operator.raw_operator)
    node = exported.graph.node[0]
    versions = {entry.domain: entry.version for entry in exported.opset_import}
    container.add_node(
        node.op_type,
        [operator.inputs[0].full_name],
        [output.full_name for output in operator.outputs],
        op_domain=node.domain,
        op_version=versions.get(node.domain),
        name=scope.get_unique_operator_name(node.op_type),
        **{attribute.name: helper.get_attribute_value(attribute) for attribute in node.attribute},
    )


class _Float32ThresholdModel:
    """A LightGBM model seen through a booster dump whose ``<=`` thresholds are rounded *down*
    to float32.

    onnxruntime compares float32 inputs with float32 thresholds. For a float32 ``x``,
    ``x <= t`` holds exactly when ``x`` is at most the largest float32 not above ``t``; the
    converter's round-to-nearest instead flips rows lying on the rounded value (e.g. a test value
    halfway between two training values, common on gridded data).
    """

    is_mock = True  # onnxmltools' dump_booster_model then just calls dump_model()

    def __init__(self, model: Any) -> None:
        self._model = model
        self._dump = model.booster_.dump_model()
        for tree in self._dump["tree_info"]:
            _round_thresholds_down(tree["tree_structure"])

    @property
    def booster_(self) -> _Float32ThresholdModel:
        return self

    def dump_model(self) -> dict[str, Any]:
        return self._dump

    def __getattr__(self, name: str) -> Any:
        return getattr(self._model, name)


def _round_thresholds_down(root: dict[str, Any]) -> None:
    stack = [root]  # iterative: trees with thousands of leaves can be very deep
    while stack:
        node = stack.pop()
        if "split_index" not in node:
            continue
        threshold = node["threshold"]
        if node["decision_type"] == "<=" and isinstance(threshold, float):
            rounded = np.float32(threshold)
            if float(rounded) > threshold:  # compare in float64: NumPy 2 would cast to float32
                rounded = np.nextafter(rounded, np.float32(-np.inf))
            node["threshold"] = float(rounded)
        stack.extend((node["left_child"], node["right_child"]))


def _fix_binary_xgboost_base_margin(model: Any, nodes: list[Any]) -> None:
    """Set a binary XGBoost classifier's ONNX base value to logit(base_score).

    onnxmltools 1.16 leaves base_score untransformed whenever the first tree is a single
    zero-valued leaf (the first round found no split: small data, strong regularisation), which
    shifts every probability.
    """
    import json

    from onnx import helper

    if len(model.classes_) != 2:
        return
    config = json.loads(model.get_booster().save_config())
    base_score = float(config["learner"]["learner_model_param"]["base_score"].strip("[]"))
    margin = float(np.log(base_score / (1.0 - base_score)))
    for node in nodes:
        if node.op_type == "TreeEnsembleClassifier":
            kept = [a for a in node.attribute if a.name != "base_values"]
            del node.attribute[:]
            node.attribute.extend([*kept, helper.make_attribute("base_values", [margin])])


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
