"""The model, evaluation and final fit of a generated ensemble script: each member as its own
pipeline, combined by voting weights or a stack's meta-learner exactly as
:mod:`mlflow_automl.ensemble` combines their out-of-fold predictions."""

from __future__ import annotations

from mlflow_automl.codegen import templates
from mlflow_automl.codegen.layout import layout, mapping
from mlflow_automl.codegen.spec import CodeSpec, EstimatorCode, literal
from mlflow_automl.ensemble.iterations import VOTING

_VOTING_COMBINE = '''

def combine(members: dict, y: np.ndarray, folds: list) -> np.ndarray:
    """The weighted average of the members' predictions (weights normalised to sum to 1)."""
    weights = np.array([WEIGHTS[i] for i in MAKERS], dtype=np.float64)
    weights = weights / weights.sum()
    return sum(w * members[i] for w, i in zip(weights, MAKERS))


def fit_final(X, y, folds, rows, members):
    """Every member refit on the final rows, averaged with WEIGHTS."""
    return $voting(
        [(f"iteration_{i}", make()) for i, make in MAKERS.items()],$soft
        weights=[WEIGHTS[i] for i in MAKERS],
    ).fit(X.iloc[rows], y[rows])
'''

_STACK_FEATURES = {
    "binary": "np.hstack([p[:, 1:] for p in predictions])  # P(class 1) of each member",
    "multiclass": "np.hstack(predictions)  # every class probability of each member",
    "regression": "np.column_stack(predictions)  # each member's prediction",
}

_STACK = '''

def stack_features(predictions: list) -> np.ndarray:
    """The members' predictions side by side: the meta-learner's input."""
    return $features


def make_meta():
    return $meta_name(**META)

$combine

class Stack(BaseEstimator):
    """Fitted members -> their predictions side by side -> the fitted meta-learner."""

    def __init__(self, members: list, meta):
        self.members = members
        self.meta = meta

    def _features(self, X) -> np.ndarray:
        return stack_features([predict(member, X) for member in self.members])

    def predict(self, X):
        return self.meta.predict(self._features(X))
$predict_proba

def fit_final(X, y, folds, rows, members):
    """Members refit on the final rows; the meta-learner fit on their out-of-fold predictions."""
    features = stack_features([members[i] for i in MAKERS])
    meta_rows = $meta_rows
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        meta = make_meta().fit(features[meta_rows], y[meta_rows])
    return Stack([fit(make(), X, y, rows) for make in MAKERS.values()], meta)
'''

_STACK_CV_COMBINE = '''
def combine(members: dict, y: np.ndarray, folds: list) -> np.ndarray:
    """The meta-learner cross-validated on the members' out-of-fold predictions, same folds."""
    features = stack_features([members[i] for i in MAKERS])
    out = np.full($prediction_shape, np.nan)
    for train, valid in folds:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            meta = make_meta().fit(features[train], y[train])
        out[valid] = predict(meta, features[valid])
    return out
'''

_STACK_SPLIT_COMBINE = '''
def meta_split(members: dict, y: np.ndarray):
    """The validated rows, split: META_TRAIN_SHARE trains the meta-learner, the rest scores."""
    features = stack_features([members[i] for i in MAKERS])
    rows = np.flatnonzero(np.isfinite(features).all(axis=1))
    try:
        train, held_out = train_test_split(
            rows, train_size=META_TRAIN_SHARE, random_state=SEED, stratify=$stratify
        )
    except ValueError:  # a class too rare to stratify
        train, held_out = train_test_split(rows, train_size=META_TRAIN_SHARE, random_state=SEED)
    return features, np.sort(train), np.sort(held_out)


def combine(members: dict, y: np.ndarray, folds: list) -> np.ndarray:
    """The meta-learner trained on part of the validation rows, predicting the others."""
    features, train, held_out = meta_split(members, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        meta = make_meta().fit(features[train], y[train])
    out = np.full($prediction_shape, np.nan)
    out[held_out] = predict(meta, features[held_out])
    return out
'''


def _member_maker(i: int, scaler: str | None, estimator: EstimatorCode, learner: str) -> str:
    call = estimator.source(f"MEMBERS[{i}]")
    scale = f'\n            ("scale", {scaler}()),' if scaler else ""
    return (
        f"\n\ndef make_member_{i}() -> Pipeline:\n"
        f'    """Iteration {i}: {learner}."""\n'
        "    return Pipeline(\n"
        "        [\n"
        '            ("prepare", FunctionTransformer(prepare)),\n'
        f'            ("featurize", {estimator.featurizer}()),{scale}\n'
        f'            ("model", {call}),\n'
        "        ]\n"
        "    )\n"
    )


def ensemble_imports(spec: CodeSpec) -> set[str]:
    ensemble = spec.ensemble
    lines = set()
    for member in ensemble.members:
        lines |= member.estimator.imports
        if member.scaler:
            lines.add(f"from sklearn.preprocessing import {member.scaler}")
    if ensemble.kind == VOTING:
        voting = "VotingClassifier" if spec.classification else "VotingRegressor"
        lines.add(f"from sklearn.ensemble import {voting}")
    else:
        lines.add(f"from {ensemble.meta.module} import {ensemble.meta.name}")
        lines.add("from sklearn.base import BaseEstimator")
        if ensemble.meta_train_share is not None:
            lines.add("from sklearn.model_selection import train_test_split")
    return lines


def ensemble_constants(spec: CodeSpec, column_constants: str) -> str:
    ensemble = spec.ensemble
    lines = ["{"]
    for member in ensemble.members:
        lines.append(f"    # iteration {member.iteration}: {member.learner}")
        key = f"{member.iteration}: "
        values = mapping(member.estimator.hyperparameters)
        lines.append(f"    {key}{layout(values, 4, len(key))},")
    lines.append("}")
    if ensemble.kind == VOTING:
        weights = {m.iteration: w for m, w in zip(ensemble.members, ensemble.weights)}
        combination = (
            "# Voting weights: each member's share of greedy selection's picks.\n"
            f"WEIGHTS = {layout(mapping(weights), 0, len('WEIGHTS = '))}"
        )
    else:
        meta = layout(mapping(ensemble.meta.fixed), 0, len("META = "))
        combination = f"# The stack's meta-learner: {ensemble.meta.name}.\nMETA = {meta}"
        if ensemble.meta_train_share is not None:
            combination += (
                "\n# Share of the validation rows that train the meta-learner.\n"
                f"META_TRAIN_SHARE = {literal(ensemble.meta_train_share)}"
            )
    classification = spec.classification
    return templates.ENSEMBLE_CONSTANTS.substitute(
        label=literal(spec.label),
        folds_line=f"\nFOLDS = {literal(spec.fold_columns)}" if spec.fold_columns else "",
        classes_line=(
            f"\nCLASSES = {literal(spec.classes)}  # class code i is CLASSES[i]"
            if classification
            else ""
        ),
        seed=spec.seed,
        metric=spec.metric,
        column_constants=column_constants,
        members="\n".join(lines),
        combination=combination,
    )


def ensemble_model(spec: CodeSpec) -> str:
    makers = "".join(
        _member_maker(m.iteration, m.scaler, m.estimator, m.learner) for m in spec.ensemble.members
    )
    registry = ", ".join(f"{m.iteration}: make_member_{m.iteration}" for m in spec.ensemble.members)
    helpers = sorted({m.estimator.helper for m in spec.ensemble.members})  # each once
    return (
        "".join(helpers)
        + makers
        + f"\n\nMAKERS = {{{registry}}}\n"
        + "\n\ndef fit(model, X: pd.DataFrame, y: np.ndarray, rows: np.ndarray):\n"
        + "    with warnings.catch_warnings():  # convergence chatter\n"
        + '        warnings.simplefilter("ignore")\n'
        + "        return model.fit(X.iloc[rows], y[rows])\n"
    )


def ensemble_evaluate(spec: CodeSpec, predict_body: str, metric_body: str) -> str:
    classification = spec.classification
    shape = "(len(y), len(CLASSES))" if classification else "len(y)"
    ensemble = spec.ensemble
    if ensemble.kind == VOTING:
        voting = "VotingClassifier" if classification else "VotingRegressor"
        combine = _VOTING_COMBINE.replace("$voting", voting).replace(
            "$soft", '\n        voting="soft",' if classification else ""
        )
    else:
        if not classification:
            features = _STACK_FEATURES["regression"]
        else:
            features = _STACK_FEATURES["binary" if len(spec.classes) == 2 else "multiclass"]
        single = ensemble.meta_train_share is not None
        inner = (_STACK_SPLIT_COMBINE if single else _STACK_CV_COMBINE).replace(
            "$prediction_shape", shape
        )
        inner = inner.replace("$stratify", "y[rows]" if classification else "None")
        proba = (
            "\n    def predict_proba(self, X):\n"
            "        return self.meta.predict_proba(self._features(X))\n"
            if classification
            else ""
        )
        combine = (
            _STACK.replace("$features", features)
            .replace("$meta_name", ensemble.meta.name)
            .replace("$combine", inner)
            .replace("$predict_proba", proba)
            .replace(
                "$meta_rows",
                "meta_split(members, y)[1]  # as in validation"
                if single
                else "np.arange(len(y))  # every row: each has out-of-fold predictions",
            )
        )
    return templates.ENSEMBLE_EVALUATE.substitute(
        predict_body=predict_body,
        prediction_shape=shape,
        combine=combine,
        predicted_name="proba" if classification else "predicted",
        metric=spec.metric,
        score_body=metric_body,
    )
