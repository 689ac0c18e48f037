"""CodeSpec -> the text of ``training_script.py``, ``training_notebook.ipynb`` and
``scoring_script.py``.

The training code is rendered as sections in reading order (load, featurize, model, evaluate,
log); the script joins them under ``main``, the notebook makes one cell of each.
"""

from __future__ import annotations

from pathlib import Path

from mlflow_automl.codegen import templates
from mlflow_automl.codegen.ensembles import (
    ensemble_constants,
    ensemble_evaluate,
    ensemble_imports,
    ensemble_model,
)
from mlflow_automl.codegen.featurize import featurization_code
from mlflow_automl.codegen.forecasting import ForecastSpec, render_forecasting
from mlflow_automl.codegen.layout import (
    SCORING_SCRIPT,
    TRAINING_NOTEBOOK,
    TRAINING_SCRIPT,
    Call,
    assignment,
    layout,
    markdown_of,
    notebook_text,
)
from mlflow_automl.codegen.metrics import metric_code
from mlflow_automl.codegen.spec import CodeSpec, literal

_LIBRARIES = {"lightgbm": ", LightGBM", "xgboost": ", XGBoost"}


def _dictliteral(spec: CodeSpec) -> str:
    """HYPERPARAMETERS as one dict, one key a line, grouped by where each value came from."""
    estimator = spec.estimator
    groups = [
        (f"searched (iteration {spec.iteration})", estimator.searched),
        (f"fixed by mlflow-automl for {spec.learner}", estimator.fixed),
        ("the experiment's seed and threads", estimator.seeding),
    ]
    lines = ["{"]
    for title, values in groups:
        if values:
            lines.append(f"    # {title}")
            lines += [f"    {literal(key)}: {literal(value)}," for key, value in values.items()]
    lines.append("}")
    return "\n".join(lines)


def _validation_text(spec: CodeSpec) -> tuple[str, str]:
    """(what the score is measured on, what the final model is fitted on)."""
    every_row = "every row"
    if spec.fold_models:
        every_row = "each fold's training rows, averaging the\nfold models,"
    if spec.fold_columns:
        return f"folds of columns {', '.join(spec.fold_columns)} (1 = train)", every_row
    if spec.validation == "cross_validation":
        kind = "stratified " if spec.classification else ""
        return f"{spec.n_folds}-fold {kind}cross-validation (seed {spec.seed})", every_row
    if spec.validation == "train_validation_split":
        share = f"{spec.validation_fraction:.0%}"
        return f"{share} validation split (seed {spec.seed})", "the training rows"
    return "separate validation file", "the training file's rows"


def _load_code(spec: CodeSpec) -> tuple[str, str]:
    """(arguments, body) of load_data."""
    classification = spec.classification
    user_validation = spec.validation == "user_validation_data"
    lines = []
    if user_validation:
        args = "training_path: str, validation_path: str"
        lines += [
            "training, validation = read(training_path), read(validation_path)",
            "frame = pd.concat([training, validation[training.columns]], ignore_index=True)",
            "is_train = np.arange(len(frame)) < len(training)",
            "keep = frame[LABEL].notna().to_numpy()  # rows without a label are not used",
            "frame, is_train = frame[keep].reset_index(drop=True), is_train[keep]",
        ]
    else:
        args = "path: str"
        lines += [
            "frame = read(path)",
            "frame = frame[frame[LABEL].notna()].reset_index(drop=True)  # rows with a label",
        ]
    if classification:
        lines += [
            "codes = {label: code for code, label in enumerate(CLASSES)}",
            "y = frame[LABEL].map(codes)",
            "if y.isna().any():",
            "    unknown = set(frame[LABEL][y.isna()])",
            '    raise ValueError(f"labels not among CLASSES: {unknown}")',
            "y = y.to_numpy(dtype=np.int64)",
        ]
    else:
        lines.append("y = pd.to_numeric(frame[LABEL]).to_numpy(dtype=np.float64)")
    if spec.weight:
        lines.append("w = pd.to_numeric(frame[WEIGHT]).to_numpy(dtype=np.float64)")
    dropped = (
        "LABEL" + (", WEIGHT" if spec.weight else "") + (", *FOLDS" if spec.fold_columns else "")
    )
    lines.append(f"X = frame.drop(columns=[{dropped}])")
    lines.append("rows = np.arange(len(y))")
    if spec.fold_columns:
        lines += [
            "folds = []",
            "for column in FOLDS:  # the experiment's folds: 1 = training row, 0 = validation row",
            "    values = frame[column].astype(object).replace({True: 1, False: 0})",
            '    values = pd.to_numeric(values, errors="coerce").to_numpy()',
            "    folds.append((rows[values == 1], rows[values == 0]))",
            "final_rows = rows",
        ]
    elif spec.validation == "cross_validation":
        splitter = "StratifiedKFold" if classification else "KFold"
        lines += [
            f"splitter = {splitter}(n_splits={spec.n_folds}, shuffle=True, random_state=SEED)",
            "folds = list(splitter.split(rows, y))",
            "final_rows = rows",
        ]
    elif spec.validation == "train_validation_split":
        stratify = "y" if classification else "None"
        split = Call(
            "train_test_split",
            ["rows"],
            {
                "test_size": literal(spec.validation_fraction),
                "random_state": "SEED",
                "stratify": stratify,
            },
        )
        lines += [
            "train, valid = " + layout(split, 4, len("train, valid = ")),
            "folds = [(np.sort(train), np.sort(valid))]",
            "final_rows = folds[0][0]",
        ]
    else:
        lines += ["folds = [(rows[is_train], rows[~is_train])]", "final_rows = rows[is_train]"]
    w = ", w" if spec.weight else ""
    lines.append(f"return X, y{w}, folds, final_rows")
    return args, "\n".join("    " + line for line in lines)


def _imports(spec: CodeSpec, extra: set[str]) -> str:
    plain = {"import sys", "import warnings", "import numpy as np", "import pandas as pd"}
    plain |= {"import mlflow", "from mlflow.models import infer_signature"}
    plain |= {"from sklearn.pipeline import Pipeline"}
    plain |= spec.estimator.imports
    if spec.scaler:
        plain.add(f"from sklearn.preprocessing import {spec.scaler}")
    if spec.validation == "cross_validation" and not spec.fold_columns:
        splitter = "StratifiedKFold" if spec.classification else "KFold"
        plain.add(f"from sklearn.model_selection import {splitter}")
    elif spec.validation == "train_validation_split":
        plain.add("from sklearn.model_selection import train_test_split")
    lines = sorted(plain | extra, key=lambda line: (line.startswith("from"), line))
    return "\n".join(lines)


def final_fit_code(spec: CodeSpec) -> str:
    """The line of ``main`` that fits the final model: a refit on the final rows, or (fold
    models) one fit per fold's training rows, averaged."""
    w = ", w" if spec.weight else ""
    if spec.ensemble:
        fit = "fit_final(X, y, folds, {rows}, members)"
    else:
        fit = f"fit(make_model(), X, y{w}, {{rows}})"
    if spec.fold_models:
        return f"model = FoldAverage([{fit.format(rows='train')} for train, _ in folds])"
    return f"model = {fit.format(rows='final_rows')}"


def training_sections(spec: CodeSpec) -> list[tuple[str, str]]:
    """``(title, code)`` in reading order; the script is their concatenation."""
    if not spec.generated:
        raise ValueError(f"no code generation for task {spec.task!r} yet")
    classification = spec.classification
    estimators = [m.estimator for m in spec.ensemble.members] if spec.ensemble else [spec.estimator]
    featurization = featurization_code(
        spec.columns,
        encoded=any(not e.category_codes for e in estimators),
        coded=any(e.category_codes for e in estimators),
    )
    metric_import, metric_body = metric_code(spec.classification, spec.metric, bool(spec.weight))
    validation_text, final_text = _validation_text(spec)
    user_validation = spec.validation == "user_validation_data"
    weighted = bool(spec.weight)
    w = {
        "w_param": ", w: np.ndarray" if weighted else "",
        "w_arg": ", w" if weighted else "",
        "w_var": ", w" if weighted else "",
        "w_rows": ", w[rows]" if weighted else "",
        "fit_weights": ", model__sample_weight=w[rows]" if weighted else "",
    }
    notes = "".join(f"\nNote: {note}." for note in spec.notes)
    header = templates.HEADER.substitute(
        learner=spec.learner,
        iteration=spec.iteration if spec.iteration is not None else "?",
        version=spec.version,
        from_run=f" from MLflow run {spec.run_id}" if spec.run_id else "",
        libraries=_LIBRARIES.get(spec.estimator.module, ""),
        usage="TRAINING_DATA VALIDATION_DATA" if user_validation else "TRAINING_DATA",
        files="s" if user_validation else "",
        validation_text=validation_text,
        metric=spec.metric,
        final_text=final_text,
        notes=notes + ("\n" if notes else ""),
    )
    imports = _imports(spec, featurization.imports | {metric_import})
    constants = templates.CONSTANTS.substitute(
        label=literal(spec.label),
        weight_line=(f"\nWEIGHT = {literal(spec.weight)}  # sample weights" if weighted else "")
        + (f"\nFOLDS = {literal(spec.fold_columns)}" if spec.fold_columns else ""),
        classes_line=(
            f"\nCLASSES = {literal(spec.classes)}  # class code i is CLASSES[i]"
            if classification
            else ""
        ),
        seed=spec.seed,
        metric=spec.metric,
        column_constants=featurization.constants,
        learner=spec.learner,
        origin=spec.origin or "given",
        hyperparameters=_dictliteral(spec),
    )
    load_args, load_body = _load_code(spec)
    load = templates.LOAD.substitute(
        load_args=load_args,
        weight_doc=", weights" if weighted else "",
        load_body=load_body,
    )
    featurize = featurization.helpers + featurization.prepare + featurization.transformer
    model = templates.MODEL.substitute(
        scale_doc=f" -> {spec.scaler}" if spec.scaler else "",
        estimator_name=spec.estimator.name,
        featurizer=spec.estimator.featurizer,
        scale_step=f'\n            ("scale", {spec.scaler}()),' if spec.scaler else "",
        estimator=spec.estimator.source("HYPERPARAMETERS"),
        **w,
    )
    model = spec.estimator.helper + model
    if classification:
        predict_body = (
            '    """Probabilities, one column per class code (0 for a class the fold lacks)."""\n'
            "    proba = np.zeros((len(X), len(CLASSES)))\n"
            "    proba[:, model.classes_] = model.predict_proba(X)\n"
            "    return proba"
        )
    else:
        predict_body = "    return np.asarray(model.predict(X), dtype=np.float64)"
    evaluate = templates.EVALUATE.substitute(
        predict_body=predict_body,
        predicted_name="proba" if classification else "predicted",
        metric=spec.metric,
        score_body=metric_body,
        prediction_shape="(len(y), len(CLASSES))" if classification else "len(y)",
        **w,
    )
    log = templates.LOG.substitute(
        run_name=f"{spec.learner} (generated)",
        params=(
            '{f"{i}.{k}": v for i, p in MEMBERS.items() for k, v in p.items()}'
            if spec.ensemble
            else "HYPERPARAMETERS"
        ),
        log_classes='\n        mlflow.log_dict({"classes": CLASSES}, "classes.json")'
        if classification
        else "",
    )
    main = templates.MAIN.substitute(
        n_args=3 if user_validation else 2, final_fit=final_fit_code(spec), **w
    )
    if spec.ensemble:
        imports = _imports(spec, featurization.imports | {metric_import})
        lines = set(imports.splitlines()) | ensemble_imports(spec)
        imports = "\n".join(sorted(lines, key=lambda line: (line.startswith("from"), line)))
        constants = ensemble_constants(spec, featurization.constants)
        model = ensemble_model(spec)
        evaluate = ensemble_evaluate(spec, predict_body, metric_body)
        main = templates.ENSEMBLE_MAIN.substitute(
            n_args=3 if user_validation else 2, final_fit=final_fit_code(spec)
        )
    else:
        imports = imports + "\n" + constants
    if spec.fold_models:
        methods = templates.FOLD_AVERAGE_REGRESSION
        if classification:
            methods = templates.FOLD_AVERAGE_CLASSIFICATION
        model += templates.FOLD_AVERAGE.substitute(methods=methods)
    return [
        ("About", header),
        ("Imports and settings", imports + "\n" + constants if spec.ensemble else imports),
        ("Load the data and the validation folds", load),
        ("Featurize", featurize),
        ("The model", model),
        ("Evaluate", evaluate),
        ("Log to MLflow", log),
        ("Run", main),
    ]


def training_script(spec: CodeSpec) -> str:
    return "".join(code for _, code in training_sections(spec))


def scoring_script(spec: CodeSpec) -> str:
    classification = spec.classification
    return templates.SCORING.substitute(
        learner=spec.learner,
        version=spec.version,
        classes_line=(
            f"\nCLASSES = {literal(spec.classes)}  # the model predicts class codes\n"
            if classification
            else ""
        ),
        label=literal(spec.label),
        decode="\n    predictions = [CLASSES[code] for code in predictions]"
        if classification
        else "",
    )


def training_notebook(spec: CodeSpec) -> str:
    """The training script as a notebook: a markdown title per section, then its code; the
    last cell runs the steps on the experiment's data file."""
    from nbformat import v4

    sections = training_sections(spec)
    cells = [v4.new_markdown_cell(markdown_of(sections[0][1]))]
    for title, code in sections[1:-1]:
        cells += [v4.new_markdown_cell(f"## {title}"), v4.new_code_cell(code.strip("\n"))]
    user_validation = spec.validation == "user_validation_data"
    w = ", w" if spec.weight else ""
    paths = "TRAINING_DATA, VALIDATION_DATA" if user_validation else "TRAINING_DATA"
    if Path(spec.data_source).is_file():
        data_cell = "# the experiment's training data\n"
        data_cell += assignment("TRAINING_DATA", literal(spec.data_source))
    else:  # a DataFrame or an MLflow dataset: no file to point at
        data_cell = (
            f"# The experiment was given a {spec.data_source}: save it as CSV or Parquet here.\n"
            'TRAINING_DATA = "training_data.csv"'
        )
    if user_validation:
        data_cell += '\nVALIDATION_DATA = "validation.csv"  # the experiment\'s validation data'
    validate = f"value = validate(X, y{w}, folds)"
    final = final_fit_code(spec)
    if spec.ensemble:
        validate = "value, members = validate(X, y, folds)"
    cells += [
        v4.new_markdown_cell("## Run"),
        v4.new_code_cell(data_cell),
        v4.new_code_cell(
            f"X, y{w}, folds, final_rows = load_data({paths})\n"
            f"{validate}\n"
            'print(f"validation {METRIC}: {value!r}")'
        ),
        v4.new_code_cell(f'{final}\nprint(f"model: {{log_run(model, X, value)}}")'),
    ]
    return notebook_text(cells)


def render(spec: CodeSpec | ForecastSpec) -> dict[str, str]:
    """File name -> text of the three files."""
    if isinstance(spec, ForecastSpec):
        return render_forecasting(spec)
    return {
        TRAINING_SCRIPT: training_script(spec),
        TRAINING_NOTEBOOK: training_notebook(spec),
        SCORING_SCRIPT: scoring_script(spec),
    }
