"""The leaderboard's ranking: primary metric, then the task's tie-break metric, then the
earlier iteration; failed iterations last."""

from __future__ import annotations

from mlflow_automl.leaderboard import Leaderboard, LeaderboardEntry


def _entry(iteration: int, score: float | None, log_loss: float | None = None) -> LeaderboardEntry:
    return LeaderboardEntry(
        iteration=iteration,
        run_id=f"run{iteration}",
        learner="SGD",
        pipeline="SGD",
        status="completed" if score is not None else "failed",
        score=score,
        metrics={} if log_loss is None else {"AUC_weighted": score, "log_loss": log_loss},
        params={},
        duration=1.0,
        fit_seconds=1.0,
        origin="tpe",
    )


def test_a_tie_on_the_primary_metric_goes_to_the_better_log_loss():
    board = Leaderboard("classification", "AUC_weighted")
    assert board.add(_entry(0, 0.99, log_loss=0.20))
    assert board.add(_entry(1, 1.0, log_loss=0.30))  # better AUC wins whatever its log loss
    assert not board.add(_entry(2, 1.0, log_loss=0.35))  # tied AUC, worse log loss
    assert board.add(_entry(3, 1.0, log_loss=0.10))  # tied AUC, better calibrated
    assert not board.add(_entry(4, 1.0, log_loss=0.10))  # a full tie keeps the earlier one
    assert not board.add(_entry(5, None))  # a failed iteration never leads
    assert board.best.iteration == 3
    assert [e.iteration for e in board.ranked()] == [3, 4, 1, 2, 0]
    assert board.frame()["iteration"].tolist() == [3, 4, 1, 2, 0, 5]


def test_regression_ties_break_on_normalised_rmse_lower_first():
    board = Leaderboard("regression", "r2_score")
    for iteration, rmse in [(0, 0.3), (1, 0.2), (2, 0.25)]:
        entry = _entry(iteration, 0.8)
        entry.metrics = {"normalized_root_mean_squared_error": rmse}
        board.add(entry)
    assert [e.iteration for e in board.ranked()] == [1, 2, 0]
