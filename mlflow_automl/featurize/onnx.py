"""ONNX conversion of the fitted featurizers: each ColumnTransformer entry replaced by an
equivalent skl2onnx converts, and the converters of our own transformers (``NumericImputer``,
``NamedTargetEncoder``). The whole-model export (``mlflow_automl/onnx_export.py``) uses them;
what cannot convert raises :class:`Unconvertible` with the reason.
"""

from __future__ import annotations

import copy
from collections.abc import Hashable
from typing import Any

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline

from mlflow_automl.featurize.featurizer import Featurizer
from mlflow_automl.featurize.transformers import (
    DateTimeFeaturizer,
    HashingEncoder,
    NamedTargetEncoder,
    NumericImputer,
    TextTfidf,
)


class Unconvertible(Exception):
    """A part of the pipeline has no ONNX conversion."""


def convertible_column_transformer(
    featurizer: Featurizer, temp: dict[Hashable, str]
) -> ColumnTransformer:
    """A copy of the fitted ColumnTransformer addressing the ONNX inputs, every entry replaced
    by a convertible equivalent (or ``Unconvertible`` raised)."""
    by_safe = {safe: temp[raw] for raw, safe, _ in featurizer.input_columns}
    fitted = featurizer.column_transformer_
    transformers = []
    for name, step, columns in fitted.transformers_:
        if step == "drop" or (isinstance(columns, list | np.ndarray) and len(columns) == 0):
            continue
        inputs = [by_safe[c] for c in columns]
        transformers.extend(_convertible_entries(name, step, inputs))
    column_transformer = copy.copy(fitted)
    column_transformer.transformers_ = transformers
    return column_transformer


def _convertible_entries(name: str, step: Any, inputs: list[str]) -> list[tuple[str, Any, list]]:
    if isinstance(step, str | NumericImputer):  # str: "passthrough"
        return [(name, step, inputs)]
    if isinstance(step, TextTfidf):
        # One TfidfVectorizer per column, in the order TextTfidf stacks them.
        return [
            (f"{name}_{i}", vectorizer, [inputs[i]])
            for i, vectorizer in enumerate(step.vectorizers_)
            if vectorizer is not None
        ]
    if isinstance(step, Pipeline):
        return [(name, Pipeline([(n, _convertible_encoder(s)) for n, s in step.steps]), inputs)]
    return [(name, _convertible_encoder(step), inputs)]


def _convertible_encoder(step: Any) -> Any:
    if isinstance(step, SimpleImputer):
        step = copy.deepcopy(step)
        step.missing_values = ""  # missing strings reach the graph as ""
        return step
    if isinstance(step, NamedTargetEncoder):
        if step.target_type_ not in ("binary", "continuous"):
            raise Unconvertible(
                f"TargetEncoder is not convertible: target type {step.target_type_!r} "
                "(skl2onnx converts binary and continuous only)"
            )
        step = copy.deepcopy(step)
        step.categories_ = [_nan_as_empty(c) for c in step.categories_]
        return step
    if isinstance(step, HashingEncoder):
        raise Unconvertible(
            "HashingEncoder is not convertible: no ONNX operator reproduces FeatureHasher"
        )
    if isinstance(step, DateTimeFeaturizer):
        raise Unconvertible("DateTimeFeaturizer is not convertible: ONNX cannot parse dates")
    return step  # OneHotEncoder and other sklearn transformers: skl2onnx decides


def _nan_as_empty(categories: np.ndarray) -> np.ndarray:
    return np.array(["" if pd.isna(c) else str(c) for c in categories], dtype=object)


def register_featurizer_converters() -> None:
    from skl2onnx import update_registered_converter
    from skl2onnx.operator_converters.target_encoder import convert_sklearn_target_encoder
    from skl2onnx.shape_calculators.target_encoder import (
        calculate_sklearn_target_encoder_output_shapes,
    )

    update_registered_converter(
        NumericImputer, "MlflowAutomlNumericImputer", _numeric_imputer_shape, _numeric_imputer
    )
    # skl2onnx registers sklearn's TargetEncoder by exact class; ours is a subclass.
    update_registered_converter(
        NamedTargetEncoder,
        "MlflowAutomlNamedTargetEncoder",
        calculate_sklearn_target_encoder_output_shapes,
        convert_sklearn_target_encoder,
    )


def _numeric_imputer_shape(operator: Any) -> None:
    from skl2onnx.common.data_types import FloatTensorType

    width = len(operator.raw_operator.get_feature_names_out())
    operator.outputs[0].type = FloatTensorType([operator.inputs[0].get_first_dimension(), width])


def _numeric_imputer(scope: Any, operator: Any, container: Any) -> None:
    from onnx import TensorProto

    imputer = operator.raw_operator
    source = operator.inputs[0].full_name
    output = operator.outputs[0].full_name
    # keep_empty_features: a column all-NaN at fit time is imputed with 0 (statistics_ is NaN).
    statistics = np.nan_to_num(imputer.imputer_.statistics_.astype(np.float64), nan=0.0)
    imputed = output if not imputer.add_indicator else scope.get_unique_variable_name("imputed")
    container.add_node(
        "Imputer",
        [source],
        [imputed],
        op_domain="ai.onnx.ml",
        name=scope.get_unique_operator_name("Imputer"),
        imputed_value_floats=statistics.astype(np.float32).tolist(),
        replaced_value_float=float("nan"),
    )
    if not imputer.add_indicator:
        return
    is_nan = scope.get_unique_variable_name("is_nan")
    indicator = scope.get_unique_variable_name("indicator")
    container.add_node("IsNaN", [source], [is_nan], name=scope.get_unique_operator_name("IsNaN"))
    container.add_node(
        "Cast",
        [is_nan],
        [indicator],
        to=TensorProto.FLOAT,
        name=scope.get_unique_operator_name("Cast"),
    )
    container.add_node(
        "Concat",
        [imputed, indicator],
        [output],
        axis=1,
        name=scope.get_unique_operator_name("Concat"),
    )
