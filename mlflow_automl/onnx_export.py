"""ONNX export of a whole fitted AutoML model: featurization + scaler + learner in one graph.

The graph has one input per raw column the featurizer uses, named after the raw column, so
MLflow's onnx pyfunc scores a raw DataFrame: numeric / bool columns are ``float32 [N, 1]``
tensors (NaN = missing), categorical and text columns ``string [N, 1]`` tensors. Classifiers
output ``label`` (the user's labels: int64 for integer labels, else strings) and
``probabilities`` (float ``[N, K]``, columns in the order of ``model.classes_``, no ZipMap),
regressors ``variable`` (``[N, 1]``).

What converts (skl2onnx + the onnxmltools LightGBM/XGBoost converters registered by
:mod:`mlflow_automl.learners.onnx`; the featurizers' own in :mod:`mlflow_automl.featurize.onnx`):

* ``NumericImputer`` (custom converter: ``Imputer`` + ``IsNaN`` missing indicators) and
  ``passthrough`` columns;
* the categorical ``SimpleImputer -> OneHotEncoder`` pipeline: in the graph a missing string is
  ``""``, so the imputer is converted with ``missing_values=""``; the strings ``"nan"``,
  ``"None"`` and ``"<NA>"`` (what ``np.array(column, dtype=str)`` makes of a missing value, as
  MLflow's pyfunc does) are folded into ``""`` at every string input;
* ``NamedTargetEncoder`` for binary / continuous targets (skl2onnx converts no multiclass
  TargetEncoder), with a NaN category re-keyed as ``""``;
* ``TextTfidf``: one skl2onnx ``TfidfVectorizer`` per text column (default tokenizer);
* every learner whose registry entry says ``onnx_compatible``.

What does not, and why (``convert_model`` then returns an error, it never raises):

* ``DateTimeFeaturizer``: it parses free-form date strings with pandas; ONNX has no date parser;
* ``HashingEncoder``: sklearn's FeatureHasher uses MurmurHash3 signed-bucket logic that no
  standard ONNX operator reproduces;
* multiclass ``NamedTargetEncoder``; learners marked not ``onnx_compatible``
  (``GradientBoosting``: skl2onnx fails on its trees).

Parity is measured on the given rows with the numeric columns rounded through float32 on the
Python side too: the graph can only ever see float32 values, and a float64 value next to a
tree split would otherwise measure the input cast, not the conversion. Regression parity is
relative to the prediction scale (``tolerance * max(1, max |prediction|)``).
"""

from __future__ import annotations

import re
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

import numpy as np
import onnx
import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import Pipeline

from mlflow_automl.ensemble import StackEnsemble, VotingEnsemble
from mlflow_automl.featurize.featurizer import Featurizer, _to_float
from mlflow_automl.featurize.onnx import (
    Unconvertible,
    convertible_column_transformer,
    register_featurizer_converters,
)
from mlflow_automl.learners.onnx import TARGET_OPSET, register_onnx_converters

# Featurization kinds (ColumnSpec.kind) that convert; "target" depends on the target type.
_CONVERTIBLE_KINDS = {"numeric", "passthrough", "onehot", "text"}
# What a missing value looks like once a string column went through np.array(dtype=str).
_MISSING_STRINGS = ("nan", "None", "<NA>", "NaN")
# StringNormalizer's default locale, en_US.UTF-8, is missing on slim images; C.UTF-8 is built in.
_TEXT_LOCALE = "C.UTF-8"


@dataclass
class OnnxExport:
    """Result of :func:`convert_model`; ``model`` is ``None`` when conversion failed."""

    model: onnx.ModelProto | None
    input_names: dict[Hashable, str]  # raw column -> ONNX input name
    max_abs_diff: float | None  # probabilities (classifiers) / predictions (regressors)
    error: str | None


# -- public API ---------------------------------------------------------------------------------


def convert_model(model: Any, X: pd.DataFrame, tolerance: float = 1e-5) -> OnnxExport:
    """Convert a fitted ``AutoMLClassifier`` / ``AutoMLRegressor`` and check parity on ``X``.

    Never raises: an unconvertible part or a parity miss is reported in ``error``.
    """
    try:
        if isinstance(model.pipeline_, VotingEnsemble | StackEnsemble):
            onnx_model, input_names, string_columns = _convert_ensemble(model.pipeline_)
        else:
            onnx_model, input_names, string_columns = _convert(model.pipeline_)
        if getattr(model, "classes_", None) is not None:
            _label_output(onnx_model, list(model.classes_))
    except Unconvertible as exc:
        return OnnxExport(None, {}, None, str(exc))
    except Exception as exc:  # skl2onnx / onnxmltools raise anything
        return OnnxExport(None, {}, None, f"ONNX conversion failed: {type(exc).__name__}: {exc}")
    try:
        diff, allowed = _parity(model, onnx_model, X, input_names, string_columns, tolerance)
    except Exception as exc:
        error = f"ONNX parity check failed: {type(exc).__name__}: {exc}"
        return OnnxExport(onnx_model, input_names, None, error)
    error = None
    if not diff <= allowed:  # also catches NaN
        error = f"ONNX parity: max abs difference {diff:.3g} exceeds {allowed:.3g}"
    return OnnxExport(onnx_model, input_names, diff, error)


def onnx_inputs(
    X: pd.DataFrame, input_names: dict[Hashable, str], string_columns: set[Hashable]
) -> dict[str, np.ndarray]:
    """The onnxruntime feed for raw rows: float32 ``[N, 1]`` with NaN, or str ``[N, 1]`` with
    missing -> ``""``; coerced exactly as the Featurizer coerces them."""
    feed = {}
    # Plain numpy numeric columns in one conversion: per-column pandas calls would cost more
    # than the whole ONNX run for a single row.
    dtypes = dict(zip(X.columns, X.dtypes))
    plain = [
        raw
        for raw in input_names
        if raw not in string_columns
        and isinstance(dtypes.get(raw), np.dtype)
        and dtypes[raw].kind in "fiu"
    ]
    if plain:
        if plain == list(X.columns):
            block = X.to_numpy(dtype=np.float32)
        else:
            position = {column: i for i, column in enumerate(X.columns)}
            block = X.iloc[:, [position[raw] for raw in plain]].to_numpy(dtype=np.float32)
        for raw, values in zip(plain, np.ascontiguousarray(block.T)):
            feed[input_names[raw]] = values.reshape(-1, 1)
    for raw, name in input_names.items():
        if name in feed:
            continue
        if raw in string_columns:
            # What _to_str_objects gives the Featurizer (str() of each value), missing -> "".
            values = X[raw].to_numpy(dtype=object)
            strings = values.astype(str)
            strings[pd.isna(values)] = ""
            feed[name] = strings.reshape(-1, 1)
        else:
            feed[name] = _to_float(X[raw]).astype(np.float32).reshape(-1, 1)
    return feed


def onnx_signature(export: OnnxExport, X: pd.DataFrame | None = None) -> Any:
    """Per-input tensor signature (float32 / str, shape ``(-1, 1)``) plus the outputs, so the
    MLflow onnx pyfunc takes a DataFrame with the raw column names (``X`` is not needed: the
    graph knows its inputs; it is accepted for symmetry with ``infer_signature``)."""
    from mlflow.models import ModelSignature
    from mlflow.types import Schema, TensorSpec

    if export.model is None:
        raise ValueError(f"no ONNX model to describe: {export.error}")
    inputs = [
        TensorSpec(_numpy_type(value), (-1, 1), value.name) for value in export.model.graph.input
    ]
    outputs = []
    for value in export.model.graph.output:
        dims = [d.dim_value or -1 for d in value.type.tensor_type.shape.dim]
        outputs.append(TensorSpec(_numpy_type(value), (-1, *dims[1:]), value.name))
    return ModelSignature(inputs=Schema(inputs), outputs=Schema(outputs))


def onnx_compatible_featurization(plan: Any) -> bool:
    """True when every planned transformer of ``plan`` (a FeaturizationPlan) converts."""
    for spec in plan.specs:
        if spec.kind == "target":
            # A classification target's type ("auto") is only known at fit time; multiclass
            # does not convert, so only a continuous target is known to be safe.
            if spec.params.get("target_type") != "continuous":
                return False
        elif spec.kind not in _CONVERTIBLE_KINDS:
            return False
    return True


# -- conversion ---------------------------------------------------------------------------------


def _convert(pipeline: Pipeline) -> tuple[onnx.ModelProto, dict[Hashable, str], set[Hashable]]:
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import FloatTensorType, StringTensorType

    register_onnx_converters()
    register_featurizer_converters()
    featurizer = pipeline.steps[0][1]
    if not isinstance(featurizer, Featurizer):
        raise Unconvertible(f"{type(featurizer).__name__} is not convertible: not a Featurizer")
    # Temporary input names that skl2onnx keeps as they are; renamed to raw names at the end.
    temp = {raw: f"input_{i}" for i, (raw, _, _) in enumerate(featurizer.input_columns)}
    string_columns = {raw for raw, _, coercion in featurizer.input_columns if coercion == "string"}
    for raw, _, coercion in featurizer.input_columns:
        if coercion == "datetime":
            raise Unconvertible(
                f"DateTimeFeaturizer is not convertible: column {raw!r} needs date parsing"
            )
    initial_types = [
        (
            temp[raw],
            StringTensorType([None, 1]) if raw in string_columns else FloatTensorType([None, 1]),
        )
        for raw, _, _ in featurizer.input_columns
    ]
    final = pipeline.steps[-1][1]
    _check_estimator(final)  # before the featurizer: a refusal names the model, not a step
    column_transformer = convertible_column_transformer(featurizer, temp)
    steps = [("featurize", column_transformer), *pipeline.steps[1:]]
    options = {id(final): {"zipmap": False}} if hasattr(final, "predict_proba") else {}
    for _, step, _ in column_transformer.transformers_:
        if isinstance(step, TfidfVectorizer):
            options[id(step)] = {"locale": _TEXT_LOCALE}
    onnx_model = to_onnx(
        Pipeline(steps),
        initial_types=initial_types,
        options=options,
        target_opset=TARGET_OPSET,
    )
    input_names = _rename_inputs(onnx_model, temp, string_columns)
    onnx.checker.check_model(onnx_model)
    return onnx_model, input_names, string_columns


def _convert_ensemble(
    ensemble: Any,
) -> tuple[onnx.ModelProto, dict[Hashable, str], set[Hashable]]:
    """One graph for a voting or stack ensemble: every member's whole graph (featurization
    included) reads the shared raw-column inputs; their outputs are combined by a weighted
    ``Sum`` (voting) or fed, side by side as :func:`~mlflow_automl.ensemble.stack_features`
    builds them, to the converted meta-learner (stacking)."""
    from onnx import TensorProto, helper

    if getattr(ensemble, "featurizer_", None) is not None:
        raise Unconvertible("a stack whose meta-learner sees the features has no ONNX graph yet")
    classification = ensemble.n_classes is not None
    output = "probabilities" if classification else "variable"
    voting = isinstance(ensemble, VotingEnsemble)
    weights = ensemble.weights_ if voting else None
    used = [i for i in range(len(ensemble.estimators_)) if not voting or weights[i] > 0]

    parts: list[onnx.ModelProto] = []
    inputs: dict[str, onnx.ValueInfoProto] = {}
    input_names: dict[Hashable, str] = {}
    string_columns: set[Hashable] = set()
    member_outputs = []
    for i in used:
        name, pipeline = ensemble.estimators_[i]
        if classification and len(pipeline.classes_) != ensemble.n_classes:
            raise Unconvertible(f"member {name} was fitted on a subset of the classes")
        member, names, strings = _convert(pipeline)
        member = onnx.compose.add_prefix(member, f"member{i}_", rename_inputs=False)
        for value in member.graph.input:
            inputs.setdefault(value.name, value)
        input_names.update(names)
        string_columns |= strings
        parts.append(member)
        member_outputs.append(f"member{i}_{output}")

    nodes: list[onnx.NodeProto] = []
    initializers: list[onnx.TensorProto] = []
    if voting:
        terms = []
        for i, member_output in zip(used, member_outputs):
            weight = f"member{i}_weight"
            initializers.append(
                helper.make_tensor(weight, TensorProto.FLOAT, [], [float(weights[i])])
            )
            nodes.append(helper.make_node("Mul", [member_output, weight], [f"{weight}ed"]))
            terms.append(f"{weight}ed")
        nodes.append(helper.make_node("Sum", terms, [output]))
    else:
        features = _stack_feature_nodes(
            member_outputs, classification, ensemble.n_classes, nodes, initializers
        )
        meta = _meta_learner_graph(ensemble, features, output, nodes)
    if classification:
        nodes.append(helper.make_node("ArgMax", [output], ["label"], axis=1, keepdims=0))
        outputs = [
            helper.make_tensor_value_info("label", TensorProto.INT64, [None]),
            helper.make_tensor_value_info(output, TensorProto.FLOAT, [None, ensemble.n_classes]),
        ]
    else:
        outputs = [helper.make_tensor_value_info(output, TensorProto.FLOAT, [None, 1])]

    member_nodes = [node for part in parts for node in part.graph.node]
    if not voting:
        parts.append(meta)  # its nodes are in ``nodes``, after the features they read
    graph = helper.make_graph(
        member_nodes + nodes,
        f"{type(ensemble).__name__}",
        list(inputs.values()),
        outputs,
        [item for part in parts for item in part.graph.initializer] + initializers,
    )
    opsets: dict[str, int] = {}
    for part in parts:
        for opset in part.opset_import:
            opsets[opset.domain] = max(opsets.get(opset.domain, 0), opset.version)
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid(domain, v) for domain, v in opsets.items()],
        ir_version=max(part.ir_version for part in parts),
    )
    onnx.checker.check_model(model)
    return model, input_names, string_columns


def _stack_feature_nodes(
    member_outputs: list[str],
    classification: bool,
    n_classes: int | None,
    nodes: list[onnx.NodeProto],
    initializers: list[onnx.TensorProto],
) -> str:
    """Appends the nodes that build the meta-learner's input; returns its tensor name.

    Binary classification keeps P(class 1) per member, multiclass all K columns, regression the
    prediction as one column (see ``stack_features``)."""
    from onnx import TensorProto, helper

    columns = []
    if classification and n_classes == 2:
        for name, value in (("starts", 1), ("ends", 2), ("axes", 1)):
            initializers.append(
                helper.make_tensor(f"stack_{name}", TensorProto.INT64, [1], [value])
            )
        for member_output in member_outputs:
            nodes.append(
                helper.make_node(
                    "Slice",
                    [member_output, "stack_starts", "stack_ends", "stack_axes"],
                    [f"{member_output}_class1"],
                )
            )
            columns.append(f"{member_output}_class1")
    elif classification:
        columns = member_outputs
    else:
        initializers.append(helper.make_tensor("stack_column", TensorProto.INT64, [2], [-1, 1]))
        for member_output in member_outputs:
            nodes.append(
                helper.make_node(
                    "Reshape", [member_output, "stack_column"], [f"{member_output}_2d"]
                )
            )
            columns.append(f"{member_output}_2d")
    nodes.append(helper.make_node("Concat", columns, ["stack_features"], axis=1))
    return "stack_features"


def _meta_learner_graph(
    ensemble: Any, features: str, output: str, nodes: list[onnx.NodeProto]
) -> onnx.ModelProto:
    """The converted meta-learner, reading ``features``, prefixed ``meta_``; appends the node
    that exposes its probabilities / predictions as ``output``."""
    from onnx import helper
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import FloatTensorType

    register_onnx_converters()
    meta = ensemble.meta_learner_
    if ensemble.n_classes is not None and len(meta.classes_) != ensemble.n_classes:
        raise Unconvertible("the stack meta-learner was fitted on a subset of the classes")
    width = int(meta.n_features_in_)
    options = {id(meta): {"zipmap": False}} if hasattr(meta, "predict_proba") else {}
    graph = to_onnx(
        meta,
        initial_types=[(features, FloatTensorType([None, width]))],
        options=options,
        target_opset=TARGET_OPSET,
    )
    graph = onnx.compose.add_prefix(graph, "meta_", rename_inputs=False)
    source = "meta_probabilities" if ensemble.n_classes is not None else "meta_variable"
    if source not in {o.name for o in graph.graph.output}:
        raise Unconvertible(f"meta-learner graph has no {source!r} output")
    nodes.extend(graph.graph.node)
    nodes.append(helper.make_node("Identity", [source], [output]))
    return graph


def _label_output(model: onnx.ModelProto, classes: list[Any]) -> None:
    """Make the ``label`` output the user's labels, not the class codes the pipeline predicts:
    a ``Gather`` from a constant table of labels indexed by the code."""
    from onnx import TensorProto, helper

    graph = model.graph
    codes, table = "label_code", "label_table"
    _rename_tensor(graph, "label", codes)
    integers = all(
        isinstance(c, int | np.integer) and not isinstance(c, bool | np.bool_) for c in classes
    )
    if integers:
        element, values = TensorProto.INT64, [int(c) for c in classes]
    else:
        element, values = TensorProto.STRING, [str(c).encode() for c in classes]
    graph.initializer.append(helper.make_tensor(table, element, [len(classes)], values))
    graph.node.append(helper.make_node("Gather", [table, codes], ["label"], axis=0))
    output = next(o for o in graph.output if o.name == "label")
    output.type.tensor_type.elem_type = element
    onnx.checker.check_model(model)


def _check_estimator(estimator: Any) -> None:
    from mlflow_automl.featurize.target import inner
    from mlflow_automl.learners.registry import LEARNERS

    estimator = inner(estimator)  # a log1p-target wrapper converts when its regressor does
    for learner in LEARNERS.values():
        known = any(type(estimator) is cls for cls in learner.estimators.values())
        if known and not learner.onnx_compatible:
            raise Unconvertible(
                f"{type(estimator).__name__} ({learner.name}) is not convertible: "
                "the learner registry marks it not ONNX-compatible"
            )
        if known and learner.native_categoricals and estimator.get_params().get("cat_features"):
            raise Unconvertible(
                f"{learner.name} reading categorical columns itself is not convertible: its ONNX "
                "export takes numeric features only (enable_onnx_compatible_models=True "
                "gives it encoded columns)"
            )


# -- graph inputs -------------------------------------------------------------------------------


def _rename_inputs(
    model: onnx.ModelProto, temp: dict[Hashable, str], string_columns: set[Hashable]
) -> dict[Hashable, str]:
    """Expose each temporary input under its raw column name; string inputs first fold
    pyfunc-style missing markers into "".

    Only graph outputs (``label``, ``probabilities``, ``variable``) and other inputs are reserved:
    an internal tensor with the wanted name is renamed out of the way.
    """
    from onnx import TensorProto, helper

    graph = model.graph
    reserved = {v.name for v in graph.output}
    prefix = []
    input_names: dict[Hashable, str] = {}
    for value in graph.input:
        raw = next(r for r, t in temp.items() if t == value.name)
        internal = value.name
        public = _public_name(raw, reserved)
        reserved.add(public)
        _rename_tensor(graph, public, f"{public}__internal_{len(reserved)}")
        input_names[raw] = public
        value.name = public
        if raw not in string_columns:
            prefix.append(helper.make_node("Identity", [public], [internal]))
            continue
        flag, mask, empty = (f"{internal}_{s}" for s in ("is_missing", "missing_mask", "empty"))
        graph.initializer.append(helper.make_tensor(empty, TensorProto.STRING, [], [b""]))
        prefix += [
            helper.make_node(
                "LabelEncoder",
                [public],
                [flag],
                domain="ai.onnx.ml",
                keys_strings=list(_MISSING_STRINGS),
                values_int64s=[1] * len(_MISSING_STRINGS),
                default_int64=0,
            ),
            helper.make_node("Cast", [flag], [mask], to=TensorProto.BOOL),
            helper.make_node("Where", [mask, empty, public], [internal]),
        ]
    nodes = prefix + list(graph.node)
    del graph.node[:]
    graph.node.extend(nodes)
    return input_names


def _rename_tensor(graph: onnx.GraphProto, old: str, new: str) -> None:
    """Rename an internal tensor (node inputs/outputs, initializers, value infos), if present."""
    for node in graph.node:
        node.input[:] = [new if name == old else name for name in node.input]
        node.output[:] = [new if name == old else name for name in node.output]
    for item in (*graph.initializer, *graph.value_info):
        if item.name == old:
            item.name = new


def _public_name(raw: Hashable, reserved: set[str]) -> str:
    name = str(raw)
    if name and name not in reserved:
        return name
    base = re.sub(r"\W", "_", name) or "column"
    name, k = f"{base}_input", 1
    while name in reserved:
        name, k = f"{base}_input_{k}", k + 1
    return name


def _numpy_type(value: onnx.ValueInfoProto) -> np.dtype:
    elem_type = value.type.tensor_type.elem_type
    if elem_type == onnx.TensorProto.STRING:
        return np.dtype(str)
    return onnx.helper.tensor_dtype_to_np_dtype(elem_type)


# -- parity -------------------------------------------------------------------------------------


def _parity(
    model: Any,
    onnx_model: onnx.ModelProto,
    X: pd.DataFrame,
    input_names: dict[Hashable, str],
    string_columns: set[Hashable],
    tolerance: float,
) -> tuple[float, float]:
    """(max abs difference, allowed difference) between the ONNX graph and the Python model."""
    import onnxruntime

    session = onnxruntime.InferenceSession(
        onnx_model.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    outputs = session.run(None, onnx_inputs(X, input_names, string_columns))
    X32 = _float32_rounded(X, [c for c in input_names if c not in string_columns])
    if hasattr(model, "predict_proba"):
        expected = np.asarray(model.predict_proba(X32), dtype=np.float64)
        got = np.asarray(outputs[1], dtype=np.float64)
        if got.shape != expected.shape:
            raise ValueError(f"probabilities shape {got.shape} != {expected.shape}")
        return float(np.max(np.abs(got - expected), initial=0.0)), tolerance
    expected = np.asarray(model.predict(X32), dtype=np.float64)
    got = np.asarray(outputs[0], dtype=np.float64).reshape(expected.shape)
    scale = max(1.0, float(np.max(np.abs(expected), initial=0.0)))
    return float(np.max(np.abs(got - expected), initial=0.0)), tolerance * scale


def _float32_rounded(X: pd.DataFrame, numeric: list[Hashable]) -> pd.DataFrame:
    rounded = X.copy()
    for column in numeric:
        rounded[column] = _to_float(X[column]).astype(np.float32).astype(np.float64)
    return rounded
