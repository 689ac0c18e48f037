"""The Azure-style Experiment / Run API, round-tripped through a real SQLite tracking store."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path

import matplotlib.pyplot as plt  # headless: conftest sets MPLBACKEND=Agg
import mlflow
import pytest
from mlflow.entities import ViewType

from mlflow_automl.azureml.experiment import Experiment, OfflineRun, Run
from mlflow_automl.azureml.snapshot import snapshot_files


def _artifact_json(run_id: str, path: str, tmp_path: Path):
    local = mlflow.MlflowClient().download_artifacts(run_id, path, str(tmp_path))
    return json.loads(Path(local).read_text())


def _history(run_id: str, key: str) -> list[tuple[int, float]]:
    history = mlflow.MlflowClient().get_metric_history(run_id, key)
    return sorted((m.step, m.value) for m in history)


# --- Experiment -----------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["ab", "x" * 37, "_abc", "-abc", "has space", "bad!", "", None])
def test_invalid_names_are_refused_naming_the_rule(sqlite_store, name):
    with pytest.raises(ValueError, match="3-36 characters"):
        Experiment(name)


def test_get_or_create_and_azure_argument_order(sqlite_store):
    first = Experiment("a" * 36)
    assert Experiment(name="a" * 36).id == first.id
    assert Experiment(object(), "1st_exp-b").name == "1st_exp-b"  # Experiment(workspace, name)
    assert mlflow.get_experiment_by_name("1st_exp-b") is not None
    lazy = Experiment("later-one", _create_in_cloud=False)
    assert mlflow.get_experiment_by_name("later-one") is None
    assert lazy.id == mlflow.get_experiment_by_name("later-one").experiment_id
    assert first.archived_time is None


def test_tag_set_tags_remove_tags(sqlite_store):
    experiment = Experiment("tagged")
    experiment.tag("flag")
    experiment.set_tags({"team": "ml", "stage": 2})
    tags = mlflow.MlflowClient().get_experiment(experiment.id).tags
    assert (tags["flag"], tags["team"], tags["stage"]) == ("", "ml", "2")
    experiment.remove_tags(["flag", "stage"])
    assert "flag" not in experiment.tags and "stage" not in experiment.tags
    assert experiment.tags["team"] == "ml"


def test_list_with_view_types_names_and_tags(sqlite_store):
    alpha, beta, gamma = Experiment("alpha"), Experiment("beta"), Experiment("gamma")
    alpha.set_tags({"team": "a", "prod": "yes"})
    beta.set_tags({"team": "b"})
    gamma.archive()

    def names(**kwargs):
        return sorted(e.name for e in Experiment.list(None, **kwargs))

    assert names() == ["Default", "alpha", "beta"]
    assert names(view_type="ArchivedOnly") == ["gamma"]
    assert names(view_type="All") == ["Default", "alpha", "beta", "gamma"]
    assert names(view_type=ViewType.DELETED_ONLY) == ["gamma"]
    assert names(experiment_name="beta") == ["beta"]
    assert names(tags={"team": "a"}) == ["alpha"]
    assert names(tags=["team"]) == ["alpha", "beta"]
    assert names(tags="prod") == ["alpha"]
    with pytest.raises(ValueError, match="view_type"):
        Experiment.list(view_type="Hidden")


def test_archive_hides_and_reactivate_restores_or_renames(sqlite_store):
    client = mlflow.MlflowClient()
    old = Experiment("reused")
    run = old.start_logging()
    run.log("x", 1)
    run.complete()
    old.archive()
    assert old.archived_time is not None
    assert "reused" not in [e.name for e in Experiment.list()]

    # Writing to the archived name creates a new active experiment.
    new = Experiment("reused")
    assert new.id != old.id and new.archived_time is None
    assert old.name == f"reused-archived-{old.id}"
    assert client.get_experiment(old.id).lifecycle_stage == "deleted"

    assert [r.id for r in old.get_runs()] == [run.id]  # still readable while archived

    with pytest.raises(ValueError, match="active experiment has that name"):
        old.reactivate()
    # Once the newer holder of the name is archived too, it is moved aside in turn.
    new.archive()
    old.reactivate()
    assert (old.name, old.archived_time) == ("reused", None)
    assert new.name == f"reused-archived-{new.id}"
    assert [r.id for r in old.get_runs()] == [run.id]  # its runs come back with it

    new.reactivate(new_name="reused-v2")
    assert (new.name, new.archived_time) == ("reused-v2", None)
    with pytest.raises(ValueError, match="3-36 characters"):
        new.reactivate(new_name="x")


def test_delete_hides_everywhere_and_frees_the_name(sqlite_store):
    doomed = Experiment("doomed")
    Experiment.delete(None, doomed.id)
    assert "doomed" not in [e.name for e in Experiment.list(view_type="All")]
    assert mlflow.MlflowClient().get_experiment(doomed.id).lifecycle_stage == "deleted"
    assert Experiment("doomed").id != doomed.id
    with pytest.raises(ValueError, match="deleted"):
        doomed.reactivate()


# --- Run: logging ---------------------------------------------------------------------------
def test_log_numbers_build_vectors_that_continue_after_reattaching(sqlite_store):
    experiment = Experiment("metrics")
    run = experiment.start_logging(display_name="interactive-1")
    run.log("accuracy", 0.5)
    run.log("accuracy", 0.75)
    run.log("epochs", 3)
    run.log("flag", True)
    run.log_list("losses", [0.9, 0.5, 0.25])
    run.log("late", 1.0, step=10)

    again = Run(experiment, run.id)  # attach: counters start from the stored history
    again.log("accuracy", 0.875)
    again.log("late", 2.0)

    assert _history(run.id, "accuracy") == [(0, 0.5), (1, 0.75), (2, 0.875)]
    assert _history(run.id, "losses") == [(0, 0.9), (1, 0.5), (2, 0.25)]
    assert _history(run.id, "late") == [(10, 1.0), (11, 2.0)]
    metrics = again.get_metrics()
    assert metrics == {
        "accuracy": [0.5, 0.75, 0.875],
        "epochs": 3.0,
        "flag": 1.0,
        "losses": [0.9, 0.5, 0.25],
        "late": [1.0, 2.0],
    }
    assert run.get_metrics("epochs") == {"epochs": 3.0}
    assert run.get_metrics("missing") == {}
    assert (run.display_name, run.name, run.experiment) == (
        "interactive-1",
        "interactive-1",
        experiment,
    )
    with pytest.raises(TypeError, match="number or a string"):
        run.log("bad", [1, 2])


def test_log_strings_become_a_tag_and_a_json_list(sqlite_store, tmp_path):
    run = Experiment("strings").start_logging()
    run.log("note", "first")
    Run(run.experiment, run.id).log("note", "second")  # re-attached writer keeps the list
    run_id = run.id
    assert mlflow.MlflowClient().get_run(run_id).data.tags["log.note"] == "second"
    assert _artifact_json(run_id, "logs/note.json", tmp_path) == ["first", "second"]
    assert Run(None, run_id).get_metrics() == {"note": ["first", "second"]}


def test_log_row_appends_and_log_table(sqlite_store, tmp_path):
    run = Experiment("tables").start_logging()
    for x in range(3):
        run.log_row("Y over X", x=x, y=x * 0.5)
    run.log_table("curve", {"fpr": [0.0, 1.0], "tpr": [0.0, 1.0]})
    stored = _artifact_json(run.id, "tables/Y over X.json", tmp_path)
    assert stored["columns"] == ["x", "y"]
    assert stored["data"] == [[0, 0.0], [1, 0.5], [2, 1.0]]
    metrics = run.get_metrics()
    assert metrics["Y over X"] == {"x": [0, 1, 2], "y": [0.0, 0.5, 1.0]}
    assert metrics["curve"] == {"fpr": [0.0, 1.0], "tpr": [0.0, 1.0]}


def test_log_image_from_file_figure_and_pyplot(sqlite_store, tmp_path):
    run = Experiment("images").start_logging()
    figure, axes = plt.subplots()
    axes.plot([1, 2, 3])
    figure.savefig(tmp_path / "curve.png")
    run.log_image("from_file", path=tmp_path / "curve.png")
    run.log_image("from_figure", plot=figure)
    run.log_image("from_pyplot", plot=plt)
    plt.close("all")
    with pytest.raises(ValueError, match="exactly one"):
        run.log_image("none")
    with pytest.raises(ValueError, match="exactly one"):
        run.log_image("both", path=tmp_path / "curve.png", plot=figure)
    files = {"images/from_file.png", "images/from_figure.png", "images/from_pyplot.png"}
    assert set(run.get_file_names()) == files
    listed = mlflow.MlflowClient().list_artifacts(run.id, "images")
    assert {f.path for f in listed} == files
    local = mlflow.MlflowClient().download_artifacts(run.id, "images/from_file.png", str(tmp_path))
    assert Path(local).read_bytes()[:4] == b"\x89PNG"


def test_upload_file_path_stream_and_folder(sqlite_store, tmp_path):
    run = Experiment("uploads").start_logging()
    (tmp_path / "model.pkl").write_bytes(b"weights")
    (tmp_path / "folder" / "sub").mkdir(parents=True)
    (tmp_path / "folder" / "sub" / "a.txt").write_text("a")
    assert run.upload_file("outputs/best_model.pkl", tmp_path / "model.pkl") == (
        "outputs/best_model.pkl"
    )
    run.upload_file("notes.txt", io.BytesIO(b"from a stream"))
    run.upload_folder("extra", tmp_path / "folder")
    assert run.get_file_names() == ["extra/sub/a.txt", "notes.txt", "outputs/best_model.pkl"]
    client = mlflow.MlflowClient()
    down = tmp_path / "down"
    down.mkdir()
    assert Path(client.download_artifacts(run.id, "notes.txt", str(down))).read_bytes() == (
        b"from a stream"
    )
    best = client.download_artifacts(run.id, "outputs/best_model.pkl", str(down))
    assert Path(best).read_bytes() == b"weights"


def test_tags_properties_details_and_status(sqlite_store):
    run = Experiment("details").start_logging(display_name="d1")
    run.tag("selected")
    run.tag("quality", "good")
    run.set_tags({"a": 1, "b": None})
    run.add_properties({"commit": "abc123"})
    tags = mlflow.MlflowClient().get_run(run.id).data.tags
    assert (tags["selected"], tags["quality"], tags["a"], tags["b"]) == ("", "good", "1", "")
    assert run.get_tags()["automl.run_type"] == "interactive"
    assert run.get_properties() == {"commit": "abc123"}
    details = run.get_details()
    assert details["runId"] == run.id and details["status"] == "RUNNING"
    assert details["displayName"] == "d1" and details["endTimeUtc"] is None
    assert details["startTimeUtc"].endswith("Z") and details["properties"] == {"commit": "abc123"}
    assert details["inputDatasets"] == []
    run.cancel()
    assert run.status == "KILLED" and run.get_details()["endTimeUtc"].endswith("Z")


# --- Run: lifecycle -------------------------------------------------------------------------------
def test_outputs_folder_is_captured_on_complete(sqlite_store, tmp_path):
    experiment = Experiment("outputs")
    run = experiment.start_logging()
    Path("outputs").mkdir()
    Path("outputs/model.txt").write_text("fitted")  # cwd is tmp_path (sqlite_store fixture)
    run.complete()
    assert run.get_status() == "FINISHED"
    assert run.get_file_names() == ["outputs/model.txt"]

    custom = experiment.start_logging(outputs=tmp_path / "elsewhere")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "result.csv").write_text("a,b\n")
    custom.complete()
    assert custom.get_file_names() == ["outputs/result.csv"]

    nothing = experiment.start_logging(outputs=False)
    nothing.complete()
    assert nothing.get_file_names() == []


def test_start_logging_as_context_manager(sqlite_store):
    experiment = Experiment("context")
    with experiment.start_logging() as ok:
        ok.log("x", 1)
    assert ok.get_status() == "FINISHED"
    with pytest.raises(RuntimeError, match="boom"), experiment.start_logging() as bad:
        raise RuntimeError("boom")
    assert bad.get_status() == "FAILED"
    assert bad.get_tags()["automl.error"] == "RuntimeError: boom"
    with experiment.start_logging() as early:
        early.fail(error_details="stopped by hand")
    assert early.get_status() == "FAILED"  # the block's exit does not complete it again


def test_snapshot_honours_gitignore_and_amlignore_wins(sqlite_store, tmp_path):
    source = tmp_path / "project"
    for name in [
        "train.py",
        "top.txt",
        "debug.log",
        "keep.log",
        "build/lib.py",
        "src/top.txt",
        "src/deep/cache/x.bin",
        "data/big.csv",
        ".git/HEAD",
    ]:
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        (source / name).write_text(name)
    (source / ".gitignore").write_text("# comment\n*.log\n!keep.log\nbuild/\n/top.txt\n**/cache\n")
    expected = [".gitignore", "data/big.csv", "keep.log", "src/top.txt", "train.py"]
    assert snapshot_files(source) == expected

    run = Experiment("snapshots").start_logging(snapshot_directory=source)
    assert run.get_file_names() == [f"snapshot/{name}" for name in expected]

    (source / ".amlignore").write_text("data/\n")  # replaces .gitignore entirely
    assert run.take_snapshot(source) == "snapshot"
    assert snapshot_files(source) == [
        ".amlignore",
        ".gitignore",
        "build/lib.py",
        "debug.log",
        "keep.log",
        "src/deep/cache/x.bin",
        "src/top.txt",
        "top.txt",
        "train.py",
    ]
    assert "snapshot/debug.log" in run.get_file_names()


def test_ignore_patterns_character_classes_and_anchors(tmp_path):
    for name in ["a1.tmp", "ab.tmp", "docs/guide.md", "docs/api/x.md", "notes/docs/y.md"]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("")
    (tmp_path / ".gitignore").write_text("a[0-9].tmp\n/docs/*.md\n")
    assert snapshot_files(tmp_path) == [
        ".gitignore",
        "ab.tmp",
        "docs/api/x.md",
        "notes/docs/y.md",
    ]


def test_get_runs_newest_first_with_filters_and_children(sqlite_store):
    experiment = Experiment("listing")
    first = experiment.start_logging(display_name="first")
    first.tag("team", "a")
    first.add_properties({"lr": 0.1})
    time.sleep(0.01)  # distinct start times for the ordering check
    second = experiment.start_logging(display_name="second")
    second.tag("team", "b")
    time.sleep(0.01)
    child = second.child_run(name="child")
    with mlflow.start_run(experiment_id=experiment.id, run_name="script"):
        pass

    def ids(**kwargs):
        return [run.id for run in experiment.get_runs(**kwargs)]

    script_id = mlflow.last_active_run().info.run_id
    assert ids() == [script_id, second.id, first.id]
    assert ids(include_children=True) == [script_id, child.id, second.id, first.id]
    assert ids(type="interactive") == [second.id, first.id]
    assert ids(type="script") == [script_id]
    assert ids(tags={"team": "a"}) == [first.id]
    assert ids(tags=["team"]) == [second.id, first.id]
    assert ids(properties={"lr": "0.1"}) == [first.id]
    assert ids(properties="lr") == [first.id]
    assert child.parent.id == second.id and second.parent is None
    assert child.get_tags()["mlflow.parentRunId"] == second.id


def test_get_context_offline_and_inside_an_active_run(sqlite_store, monkeypatch, capsys):
    monkeypatch.delenv("MLFLOW_RUN_ID", raising=False)
    offline = Run.get_context()
    assert isinstance(offline, OfflineRun)
    offline.log("loss", 0.5)
    offline.log("loss", 0.25)
    offline.log("note", "hi")
    offline.log_row("table", x=1, y=2)
    offline.log_row("table", x=2, z=3)
    offline.tag("k", "v")
    offline.upload_file("a/b.txt", io.BytesIO(b"x"))
    offline.complete()
    assert offline.get_metrics() == {
        "loss": [0.5, 0.25],
        "note": "hi",
        "table": {"x": [1, 2], "y": [2, None], "z": [None, 3]},
    }
    assert offline.get_tags() == {"log.note": "hi", "k": "v"}
    assert offline.get_file_names() == ["a/b.txt"]
    assert offline.get_status() == "FINISHED"
    assert "[OfflineRun] metric loss" in capsys.readouterr().out
    with pytest.raises(RuntimeError, match="no MLflow run is active"):
        Run.get_context(allow_offline=False)

    mlflow.set_experiment("scripted")
    with mlflow.start_run() as active:
        context = Run.get_context(allow_offline=False)
        context.log("score", 1.0)
        assert context.id == active.info.run_id
        assert context.experiment.name == "scripted"
    assert mlflow.MlflowClient().get_run(active.info.run_id).data.metrics == {"score": 1.0}
    monkeypatch.setenv("MLFLOW_RUN_ID", active.info.run_id)  # as `mlflow run` does
    assert Run.get_context().id == active.info.run_id


# --- submit --------------------------------------------------------------------------------------
def test_submit_automl_from_the_experiment_and_from_a_run(sqlite_store, breast_cancer):
    from mlflow_automl import AutoMLConfig

    experiment = Experiment("automl-submit")
    with pytest.raises(TypeError, match="AutoMLConfig, not dict"):
        experiment.submit({"task": "classification"})
    config = AutoMLConfig(
        task="classification",
        training_data=breast_cancer,
        label_column_name="target",
        iterations=2,
        n_cross_validations=3,
    )
    top = experiment.submit(config, run_name="top-level")
    assert top.get_status() == "FINISHED" and top.experiment_id == experiment.id
    assert "mlflow.parentRunId" not in top.tags
    time.sleep(0.01)

    with experiment.start_logging(display_name="notebook") as run:
        automl_run = run.submit(config, tags={"origin": "notebook"})
    tags = mlflow.MlflowClient().get_run(automl_run.run_id).data.tags
    assert tags["mlflow.parentRunId"] == run.id and tags["origin"] == "notebook"
    assert automl_run.experiment_id == experiment.id
    attached = Run(experiment, automl_run.run_id)
    assert attached.parent.id == run.id
    (dataset,) = attached.get_details()["inputDatasets"]
    assert dataset["consumptionDetails"]["inputName"] == "training"
    automl_runs = experiment.get_runs(type="automl", include_children=True)
    assert [r.id for r in automl_runs] == [automl_run.run_id, top.run_id]
    # Top level: the interactive run and the first AutoML run; the second is a child.
    assert [r.id for r in experiment.get_runs()] == [run.id, top.run_id]
    assert run.get_status() == "FINISHED"
