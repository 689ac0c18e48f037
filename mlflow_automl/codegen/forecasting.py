"""Generated code for forecasting iterations: the forecaster (or the voting ensemble of
forecasters) written out with its hyperparameters, on the experiment's series and folds.

Unlike the tabular scripts, these import mlflow-automl's public time-series pieces (the series
checks, repairs and rolling-origin folds, the forecaster classes, the model users get) and say
so at the top: rewriting the grid repair and the recursive forecasting in a script would hide
the model behind a thousand lines, not show it.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from mlflow_automl.codegen import templates_forecasting as t
from mlflow_automl.codegen.layout import (
    SCORING_SCRIPT,
    TRAINING_NOTEBOOK,
    TRAINING_SCRIPT,
    Call,
    assignment,
    layout,
    mapping,
    markdown_of,
    notebook_text,
)
from mlflow_automl.codegen.metrics import metric_code
from mlflow_automl.codegen.spec import EstimatorCode, estimator_code, literal, plain

_MASE = "mean_absolute_scaled_error"
_MASE_BODY = """# Each row's absolute error over its series' in-sample seasonal-naive error
    # (its scale, from the history before the row's fold).
    keep = np.isfinite(scale) & (scale > 0)
    return float(np.mean(np.abs(y[keep] - predicted[keep]) / scale[keep]))"""


@dataclass(frozen=True)
class ForecasterCode:
    """One forecaster: a univariate model per series, or one global regressor on features."""

    iteration: int
    learner: str
    univariate: bool
    estimator: EstimatorCode
    scaler: str | None  # the global regressor's feature scaler
    absolute_loss: dict[str, Any]  # regressor settings because the metric is an absolute error
    season: dict[str, Any]  # the season length found in the data (per-series models)


@dataclass(frozen=True)
class ForecastSpec:
    """Everything a forecasting script is rendered from."""

    metric: str
    label: str
    seed: int
    learner: str  # a learner name, or VotingEnsemble
    iteration: int | None
    run_id: str | None
    origin: str
    version: str
    settings: dict[str, Any]  # AutoMLConfig keywords that fix the repairs, season and folds
    featurization: str  # of the known-feature (covariate) columns
    features: dict[str, Any]  # FeatureSpec fields of the global models
    fold_text: str  # e.g. "3 rolling-origin folds (horizon 14, step 14 periods of D)"
    members: list[ForecasterCode]
    weights: list[float] | None = None  # voting weights, one per member
    data_source: str = ""
    task: str = "forecasting"

    @property
    def ensemble(self) -> bool:
        return self.weights is not None


def forecast_spec(
    *,
    config: Any,  # AutoMLConfig
    data: Any,  # ForecastingData
    plan: Any,  # ForecastingPlan
    learner: str,
    params: dict[str, Any],
    iteration: int | None = None,
    run_id: str | None = None,
    origin: str = "",
    members: list[tuple[int, str, dict[str, Any]]] | None = None,
    weights: list[float] | None = None,
) -> ForecastSpec:
    """The spec of one forecasting iteration; an ensemble passes its ``members`` as
    ``(iteration, learner, hyperparameters)`` and its voting ``weights``."""
    from mlflow_automl import __version__
    from mlflow_automl.forecasting.parameters import ForecastingParameters

    featurization = config.featurization
    if not isinstance(featurization, str):
        raise ValueError("no code generation for a custom FeaturizationConfig of forecasting yet")
    layout_ = data.layout
    # What the experiment set (empty id and drop lists are the defaults, not settings).
    settings = {
        k: v for k, v in ForecastingParameters.from_config(config).as_settings().items() if v != []
    }
    # Resolved on the data, so the script does not depend on inference staying the same.
    settings.update(
        frequency=layout_.grid.freq,
        seasonality=layout_.season,
        forecast_horizon=layout_.horizon,
        n_cross_validations=data.strategy.n_folds,
    )
    step = settings.get("cv_step_size")
    step = layout_.horizon if step in (None, "auto") else int(step)
    codes = [
        _forecaster_code(config, data, plan, i, name, p)
        for i, name, p in (members or [(iteration, learner, params)])
    ]
    return ForecastSpec(
        metric=config.metric,
        label=data.label_column,
        seed=config.random_seed,
        learner=learner,
        iteration=iteration,
        run_id=run_id,
        origin=origin,
        version=__version__,
        settings={k: plain(v) for k, v in settings.items()},
        featurization=featurization,
        features={f.name: plain(getattr(data.spec, f.name)) for f in fields(data.spec)},
        fold_text=(
            f"{data.strategy.n_folds} rolling-origin folds (horizon {layout_.horizon}"
            + f", step {step} periods of {layout_.grid.freq})"
        ),
        members=codes,
        weights=None if weights is None else [plain(w) for w in weights],
        data_source=data.source,
    )


def _forecaster_code(config, data, plan, iteration, learner_name, params) -> ForecasterCode:
    from mlflow_automl.forecasting.data import ABSOLUTE_LOSS
    from mlflow_automl.learners import get_learner
    from mlflow_automl.tasks.names import FORECASTING

    learner = get_learner(learner_name, FORECASTING)
    if getattr(learner, "univariate", False):
        model = learner.make_estimator(FORECASTING, params)
        cls = type(model)
        season = {}
        if "season_length" in model.get_params():
            season["season_length"] = plan.layout.season
        estimator = EstimatorCode(
            module=cls.__module__,  # mlflow_automl.forecasting.statistical
            name=cls.__name__,
            searched={k: plain(v) for k, v in params.items()},
            fixed={k: plain(v) for k, v in learner.fixed.items()},
            seeding={},
            calibrated=False,
        )
        return ForecasterCode(iteration, learner_name, True, estimator, None, {}, season)
    estimator = estimator_code(learner, FORECASTING, params, config, data)
    cls = learner.estimator_class(FORECASTING)
    accepted = cls().get_params()
    absolute = ABSOLUTE_LOSS.get(cls.__name__, {}) if plan.absolute_loss else {}
    scaler = learner.make_scaler()
    return ForecasterCode(
        iteration,
        learner_name,
        False,
        estimator,
        None if scaler is None else type(scaler).__name__,
        {k: v for k, v in absolute.items() if k in accepted},
        {},
    )


# --- rendering --------------------------------------------------------------------------------


def _hyperparameters(member: ForecasterCode, indent: int = 0) -> str:
    """One dict, one key a line, grouped by where each value came from."""
    estimator = member.estimator
    groups = [
        (f"searched (iteration {member.iteration})", estimator.searched),
        (f"fixed by mlflow-automl for {member.learner}", estimator.fixed),
        ("the experiment's seed and threads", estimator.seeding),
        ("the season length found in the data", member.season),
        ("the primary metric is an absolute error: the median forecast", member.absolute_loss),
    ]
    pad = " " * (indent + 4)
    lines = ["{"]
    for title, values in groups:
        if values:
            lines.append(f"{pad}# {title}")
            lines += [f"{pad}{literal(key)}: {literal(value)}," for key, value in values.items()]
    if len(lines) == 1:
        return "{}"
    lines.append(" " * indent + "}")
    return "\n".join(lines)


def _maker(member: ForecasterCode, name: str, params: str) -> str:
    estimator = member.estimator
    if member.univariate:
        doc = f"{member.learner}: one {estimator.name} per series."
        call = Call(
            "PerSeriesForecaster",
            [],
            {"layout": "data.layout", "model": f"{estimator.name}(**{params})"},
        )
        body = "    return " + layout(call, 4, len("return "))
    else:
        doc = (
            f"{member.learner}: one {estimator.name} across all series on FEATURES, "
            "forecasting\n    one step at a time (each step's forecast feeds the next step's lags)."
        )
        scaler = f"{member.scaler}()" if member.scaler else "None"
        body = (
            "    plan = plan_forecasting(data, FEATURIZATION)  # the known-feature columns\n"
            "    return GlobalRegressionForecaster(\n"
            "        layout=data.layout,\n"
            f"        regressor={estimator.name}(**{params}),\n"
            f"        scaler={scaler},\n"
            "        spec=FEATURES,\n"
            "        covariates=plan.covariates,\n"
            "        covariate_plan=plan.covariate_plan,\n"
            "    )"
        )
    return f'\n\ndef {name}(data):\n    """{doc}"""\n{body}\n'


def _imports(spec: ForecastSpec, metric_import: str) -> str:
    plain_lines = {"import numpy as np", "import pandas as pd"}
    plain_lines |= {"import mlflow", "from mlflow.models import infer_signature"}
    if metric_import:
        plain_lines.add(metric_import)
    ours = {
        "from mlflow_automl import AutoMLConfig",
        "from mlflow_automl.forecasting.data import prepare_forecasting_data",
        "from mlflow_automl.forecasting.model import AutoMLForecaster, prepare_for_logging",
    }
    for member in spec.members:
        estimator = member.estimator
        if member.univariate:
            ours.add("from mlflow_automl.forecasting.forecasters import PerSeriesForecaster")
            ours.add(f"from {estimator.module} import {estimator.name}")
        else:
            plain_lines.add(f"from {estimator.module} import {estimator.name}")
            if member.scaler:
                plain_lines.add(f"from sklearn.preprocessing import {member.scaler}")
            ours |= {
                "from mlflow_automl.forecasting.data import plan_forecasting",
                "from mlflow_automl.forecasting.features import FeatureSpec",
                "from mlflow_automl.forecasting.forecasters import GlobalRegressionForecaster",
            }
    if spec.ensemble:
        ours.add("from mlflow_automl.ensemble import VotingEnsemble")
    standard = "import sys\nimport warnings"
    return "\n\n".join([standard, _sorted_block(plain_lines), _merged_block(ours)])


def _sorted_block(lines: set[str]) -> str:
    return "\n".join(sorted(lines, key=lambda line: (line.startswith("from"), line)))


def _merged_block(lines: set[str]) -> str:
    """``from m import a`` and ``from m import b`` as ``from m import a, b`` (as ruff's isort)."""
    names: dict[str, set[str]] = {}
    for line in lines:
        module, _, imported = line.removeprefix("from ").partition(" import ")
        names.setdefault(module, set()).update(n.strip() for n in imported.split(","))
    out = []
    for module in sorted(names):
        joined = ", ".join(sorted(names[module], key=lambda n: (not n.isupper(), n)))
        line = f"from {module} import {joined}"
        if len(line) > 100:
            inner = "".join(f"    {n},\n" for n in sorted(names[module]))
            line = f"from {module} import (\n{inner})"
        out.append(line)
    return "\n".join(out)


def _constants(spec: ForecastSpec) -> str:
    lines = [
        f"LABEL = {literal(spec.label)}",
        f"SEED = {spec.seed}  # the experiment's random_seed",
        f'METRIC = "{spec.metric}"',
        "",
        "# The experiment's forecasting settings, resolved on its data: they fix the repairs of",
        "# the time grid, the season and the rolling-origin folds.",
        "SETTINGS = " + _dict_lines(spec.settings),
    ]
    if any(not m.univariate for m in spec.members):
        features = Call("FeatureSpec", [], {k: literal(v) for k, v in spec.features.items()})
        lines += [
            f"FEATURIZATION = {literal(spec.featurization)}  # of the known-feature columns",
            "# What the global model sees: lags, rolling window, Fourier, calendar and holiday",
            "# features, resolved from the settings and the data. Edit them here.",
            "FEATURES = " + layout(features, 0, len("FEATURES = ")),
        ]
    if spec.ensemble:
        lines += [
            "",
            "# Each member's hyperparameters, by iteration: what the search chose, what",
            "# mlflow-automl fixes for the learner, the season, the experiment's seed. Edit them.",
            "MEMBERS = {",
        ]
        for member in spec.members:
            lines.append(f"    # iteration {member.iteration}: {member.learner}")
            lines.append(f"    {member.iteration}: {_hyperparameters(member, 4)},")
        lines.append("}")
        weights = {m.iteration: w for m, w in zip(spec.members, spec.weights)}
        lines += [
            "# Voting weights: each member's share of bagged greedy selection's picks.",
            "WEIGHTS = " + layout(mapping(weights), 0, len("WEIGHTS = ")),
        ]
    else:
        member = spec.members[0]
        lines += [
            "",
            f"# {member.learner}: what the search chose ({spec.origin or 'given'}), what",
            "# mlflow-automl fixes for it, and the experiment's seed. Edit them here.",
            f"HYPERPARAMETERS = {_hyperparameters(member)}",
        ]
    return "\n" + "\n".join(lines) + "\n"


def _dict_lines(values: dict[str, Any]) -> str:
    flat = "{" + ", ".join(f"{literal(k)}: {literal(v)}" for k, v in values.items()) + "}"
    if len("SETTINGS = ") + len(flat) <= 100:
        return flat
    return "{\n" + "".join(f"    {literal(k)}: {literal(v)},\n" for k, v in values.items()) + "}"


def _model(spec: ForecastSpec) -> str:
    if not spec.ensemble:
        return _maker(spec.members[0], "make_forecaster", "HYPERPARAMETERS") + t.FIT
    makers = "".join(
        _maker(m, f"make_member_{m.iteration}", f"MEMBERS[{m.iteration}]") for m in spec.members
    )
    registry = ", ".join(f"{m.iteration}: make_member_{m.iteration}" for m in spec.members)
    ensemble = (
        "\n\ndef make_forecaster(data):\n"
        '    """The members, averaged with WEIGHTS (normalised to sum to 1)."""\n'
        "    return VotingEnsemble(\n"
        '        [(f"iteration_{i}", make(data)) for i, make in MAKERS.items()],\n'
        "        weights=[WEIGHTS[i] for i in MAKERS],\n"
        '        task="forecasting",\n'
        "    )\n"
    )
    return makers + f"\n\n{assignment('MAKERS', '{' + registry + '}')}\n" + ensemble + t.FIT


def forecasting_sections(spec: ForecastSpec) -> list[tuple[str, str]]:
    """``(title, code)`` in reading order; the script is their concatenation."""
    if spec.metric == _MASE:
        metric_import, metric_body, scale = "", _MASE_BODY, ", scale: np.ndarray"
    else:
        metric_import, metric_body = metric_code(False, spec.metric, False)
        scale = ""
    header = t.HEADER.substitute(
        learner=spec.learner,
        iteration=spec.iteration if spec.iteration is not None else "?",
        version=spec.version,
        from_run=f" from MLflow run {spec.run_id}" if spec.run_id else "",
        what_it_does=textwrap.fill(
            "It reads the CSV/Parquet file the experiment was given, scores the forecaster on "
            f"the same {spec.fold_text}, prints the validation {spec.metric}, refits on every "
            "row of the repaired series and logs parameters, metric and model (with signature) "
            "as an MLflow run (MLFLOW_TRACKING_URI).",
            width=95,
        ),
    )
    if spec.ensemble:
        predictions = (
            "weights = np.array([WEIGHTS[i] for i in MAKERS], dtype=np.float64)\n"
            "    weights = weights / weights.sum()\n"
            "    predictions = sum(w * out_of_fold(m, data) "
            "for w, m in zip(weights, MAKERS.values()))"
        )
        params = '{f"{i}.{k}": v for i, p in MEMBERS.items() for k, v in p.items()}'
    else:
        predictions = "predictions = out_of_fold(make_forecaster, data)"
        params = "HYPERPARAMETERS"
    evaluate = t.EVALUATE.substitute(
        metric=spec.metric,
        scale_param=scale,
        scale_arg=", data.metric_scale[rows]" if scale else "",
        score_body=metric_body,
        predictions=predictions,
    )
    return [
        ("About", header),
        ("Imports and settings", _imports(spec, metric_import) + "\n" + _constants(spec)),
        ("Load the series and the validation folds", t.LOAD),
        ("The forecaster", _model(spec)),
        ("Evaluate", evaluate),
        (
            "Fit the model and log it to MLflow",
            t.LOG.substitute(
                learner=spec.learner, run_name=f"{spec.learner} (generated)", params=params
            ),
        ),
        ("Run", t.MAIN),
    ]


def forecasting_notebook(spec: ForecastSpec) -> str:
    """The training script as a notebook: a markdown title per section, then its code."""
    from nbformat import v4

    sections = forecasting_sections(spec)
    cells = [v4.new_markdown_cell(markdown_of(sections[0][1]))]
    for title, code in sections[1:-1]:
        cells += [v4.new_markdown_cell(f"## {title}"), v4.new_code_cell(code.strip("\n"))]
    if Path(spec.data_source).is_file():
        data_cell = "# the experiment's training data\n"
        data_cell += assignment("TRAINING_DATA", literal(spec.data_source))
    else:
        data_cell = (
            f"# The experiment was given a {spec.data_source}: save it as CSV or Parquet here.\n"
            'TRAINING_DATA = "training_data.csv"'
        )
    cells += [
        v4.new_markdown_cell("## Run"),
        v4.new_code_cell(data_cell),
        v4.new_code_cell(
            "data = load_data(TRAINING_DATA)\n"
            "value = validate(data)\n"
            'print(f"validation {METRIC}: {value!r}")'
        ),
        v4.new_code_cell(
            'model, example = fit_final(data)\nprint(f"model: {log_run(model, example, value)}")'
        ),
    ]
    return notebook_text(cells)


def render_forecasting(spec: ForecastSpec) -> dict[str, str]:
    """File name -> text of the three files."""
    return {
        TRAINING_SCRIPT: "".join(code for _, code in forecasting_sections(spec)),
        TRAINING_NOTEBOOK: forecasting_notebook(spec),
        SCORING_SCRIPT: t.SCORING.substitute(
            learner=spec.learner,
            version=spec.version,
            time=literal(spec.settings["time_column_name"]),
        ),
    }
