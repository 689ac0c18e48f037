"""``submit`` and ``AutoMLRun``: a finished AutoML experiment, read from MLflow (or from memory
when fresh).

Everything is recoverable from the tracking store alone, so ``AutoMLRun(run_id)`` in a new
process (or on another machine pointing at the same server) gives the same answers.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from mlflow_automl import tracking
from mlflow_automl.automl import ExperimentResult, run_experiment
from mlflow_automl.config import AutoMLConfig
from mlflow_automl.evaluation.metrics import CLASSIFICATION, compute_metrics
from mlflow_automl.frames import load_frame
from mlflow_automl.tasks import get_task


def submit(
    config: AutoMLConfig,
    experiment_name: str | None = None,
    show_output: bool = False,
    tags: dict[str, str] | None = None,
    run_name: str | None = None,
    parent_run_id: str | None = None,
) -> AutoMLRun:
    """Runs the AutoML experiment described by ``config``; returns an ``AutoMLRun``.

    The experiment is one MLflow run in ``experiment_name`` (default: the active run's
    experiment, else ``"automl"``), nested under the active run when there is one in that
    experiment (or under ``parent_run_id``); every trial is a child run of it. ``tags`` go on
    the run, ``run_name`` names it.

    SIGINT or SIGTERM during the call stops it cleanly (``mlflow_automl/stops.py``): running
    trials are killed, the best model so far is logged within a few seconds, the run ends
    KILLED, then the signal goes on to the caller's handler (``KeyboardInterrupt`` for Ctrl+C).
    """
    result = run_experiment(config, experiment_name, show_output, tags, run_name, parent_run_id)
    return AutoMLRun.of(result)


class AutoMLRun:
    """The parent run of an AutoML experiment, with Azure-style accessors."""

    def __init__(
        self, run_id: str, *, best_model: Any = None, leaderboard: Any = None, insights: Any = None
    ) -> None:
        """``AutoMLRun(run_id)`` reads a finished experiment back from the tracking store.

        ``submit`` also hands over what it still holds in memory: the fitted best model and the
        ``Leaderboard`` with the best iterations' validation predictions.
        """
        self.run_id = run_id
        if best_model is None:  # read back: first write what an outage kept in the journal
            tracking.sync_journal(run_id, quiet=True)
        self._model = best_model
        self.leaderboard = leaderboard
        self._insights = insights

    @classmethod
    def of(cls, result: ExperimentResult) -> AutoMLRun:
        """The run of an experiment this process just ran, with what it holds in memory."""
        return cls(
            result.run_id,
            best_model=result.model,
            leaderboard=result.leaderboard,
            insights=result.insights,
        )

    def __repr__(self) -> str:
        return f"AutoMLRun(run_id={self.run_id!r}, status={self.get_status()!r})"

    # --- the MLflow side ------------------------------------------------------------------------
    @property
    def run(self) -> Any:
        """The parent ``mlflow.entities.Run`` (fetched fresh each time)."""
        return tracking.get_run(self.run_id)

    @property
    def experiment_id(self) -> str:
        return self.run.info.experiment_id

    @property
    def tags(self) -> dict[str, str]:
        return self.run.data.tags

    def get_status(self) -> str:
        return self.run.info.status

    def wait_for_completion(self, show_output: bool = False) -> dict[str, Any]:
        """Runs are synchronous, so this returns the finished run's summary at once."""
        info = self.run.info
        return {
            "runId": self.run_id,
            "status": info.status,
            "startTimeUtc": info.start_time,
            "endTimeUtc": info.end_time,
        }

    def continue_experiment(
        self,
        training_data: Any = None,
        experiment_timeout_minutes: float | None = None,
        experiment_timeout_hours: float | None = None,
        iterations: int | None = None,
        show_output: bool = False,
    ) -> AutoMLRun:
        """Continues this ended (FINISHED, KILLED or FAILED) experiment in the same run, with
        ``iterations`` more trials and/or a new time budget; earlier trials are not run again.

        ``training_data`` is needed when the original was not a file this process can read
        (a DataFrame); it must be the same data (its digest is checked). See ``resume.py``.
        """
        from mlflow_automl.resume import continue_experiment

        result = continue_experiment(
            self.run_id,
            training_data=training_data,
            experiment_timeout_minutes=experiment_timeout_minutes,
            experiment_timeout_hours=experiment_timeout_hours,
            iterations=iterations,
            show_output=show_output,
        )
        return AutoMLRun.of(result)

    # --- results --------------------------------------------------------------------------------
    def get_output(self, return_onnx_model: bool = False) -> tuple[Any, Any]:
        """Returns ``(best_child_run, fitted_model)``; the model takes raw input rows.

        With ``return_onnx_model=True`` the model is the ONNX graph (``onnx.ModelProto``) of an
        experiment run with ``enable_onnx_compatible_models=True``.
        """
        tags = self.tags
        best_child = tags.get(tracking.TAG_BEST_CHILD)
        if best_child is None:
            raise RuntimeError(
                f"AutoML run {self.run_id} has no best model (status: {self.get_status()})."
            )
        if return_onnx_model:
            uri = tags.get(tracking.TAG_ONNX_URI)
            if uri is None:
                reason = tags.get(tracking.TAG_ONNX_ERROR) or "enable_onnx_compatible_models=False"
                raise RuntimeError(f"AutoML run {self.run_id} has no ONNX model: {reason}")
            return tracking.get_run(best_child), tracking.load_onnx_model(uri)
        if self._model is None:
            self._model = tracking.load_model(tags[tracking.TAG_MODEL_URI])
        return tracking.get_run(best_child), self._model

    @property
    def model_uri(self) -> str | None:
        return self.tags.get(tracking.TAG_MODEL_URI)

    def register_model(
        self, model_name: str, alias: str | None = "champion", tags: dict[str, Any] | None = None
    ) -> str:
        """Registers the best model as a new version of ``model_name``; returns the version.

        ``alias`` (default ``champion``) moves to the new version; older versions are kept. The
        version is tagged with the primary metric's value, the AutoML run id and the package
        version. An ONNX model of the run is registered as ``<model_name>-onnx``, same alias.
        """
        return tracking.register_best_model(self.run_id, model_name, alias, tags)

    def get_children(self) -> list[Any]:
        """Child runs (one per iteration), in iteration order."""
        return tracking.search_children(self.experiment_id, self.run_id)

    def get_metrics(self, recursive: bool = False) -> dict[str, Any]:
        """The parent's metrics (a list where a metric has steps, e.g. ``best_score``).

        With ``recursive=True``: ``{run_id: metrics}`` for the parent and every child.
        """
        if recursive:
            result = {self.run_id: self.get_metrics()}
            for child in self.get_children():
                result[child.info.run_id] = dict(child.data.metrics)
            return result
        metrics: dict[str, Any] = dict(self.run.data.metrics)
        metrics[tracking.BEST_SCORE_METRIC] = tracking.metric_history(
            self.run_id, tracking.BEST_SCORE_METRIC
        )
        return metrics

    def log_charts(self, iteration: int) -> None:
        """Draws and logs the charts of one more iteration on its child run (on request).

        Works in the process that ran the experiment, for the iterations whose validation
        predictions are still in memory (the best 20).
        """
        if self._insights is None or self.leaderboard is None:
            raise RuntimeError(
                "charts on request need the experiment's predictions, which only the process "
                "that ran submit() holds; the best runs' charts are already logged."
            )
        entry = next((e for e in self.leaderboard.entries if e.iteration == iteration), None)
        if entry is None:
            raise ValueError(f"AutoML run {self.run_id} has no iteration {iteration}.")
        self._insights.log_charts(entry)

    def download_code(self, iteration: int | None = None, path: str = ".") -> str:
        """The generated training script, notebook and scoring script of the best model
        (``iteration=None``) or of one charted iteration, into ``path``; returns the folder."""
        from mlflow_automl import codegen

        run_id = self.run_id
        if iteration is not None:
            board = self.get_leaderboard()
            rows = board[board["iteration"] == iteration]
            if rows.empty:
                raise ValueError(f"AutoML run {self.run_id} has no iteration {iteration}.")
            run_id = rows["run_id"].iloc[0]
        return codegen.download_code(run_id, path)

    def get_leaderboard(self) -> pd.DataFrame:
        """Every iteration with its pipeline, primary metric, status and run id; best first."""
        return tracking.load_table(self.run_id, tracking.LEADERBOARD_FILE)

    def get_featurization_summary(self) -> pd.DataFrame:
        return tracking.load_table(self.run_id, tracking.FEATURIZATION_FILE)

    def get_guardrails(self) -> pd.DataFrame:
        return tracking.load_table(self.run_id, tracking.GUARDRAILS_FILE)

    def score(self, test_data: Any, label_column_name: str | None = None) -> dict[str, float]:
        """Every metric of the task for the best model on labelled test data, in one call."""
        frame, _ = load_frame(test_data, "test_data")
        label = label_column_name or self.tags[tracking.TAG_LABEL]
        if label not in frame.columns:
            raise ValueError(f"test data has no label column {label!r}.")
        frame = frame[frame[label].notna()]
        _, model = self.get_output()
        features = frame.drop(columns=[label])
        if get_task(self.tags[tracking.TAG_TASK]).predicts_classes:
            index = {value: code for code, value in enumerate(model.classes_)}
            truth = frame[label].map(lambda value: index.get(value, -1)).to_numpy()
            unknown = frame[label][truth < 0]
            if len(unknown):
                raise ValueError(
                    f"test label {unknown.iloc[0]!r} was never seen in training; "
                    f"known classes: {list(model.classes_)}."
                )
            return compute_metrics(CLASSIFICATION, truth, model.predict_proba(features))
        truth = pd.to_numeric(frame[label]).to_numpy(dtype=np.float64)
        task = self.tags[tracking.TAG_TASK]
        # Forecasting: each row's MASE denominator comes from its series' training history.
        scale = model.mase_scale(features) if hasattr(model, "mase_scale") else None
        return compute_metrics(task, truth, model.predict(features), scale=scale)
