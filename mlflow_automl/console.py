"""What ``show_output=True`` prints: one line per iteration and the share of budget used."""

from __future__ import annotations

import sys
from datetime import timedelta
from typing import Any, TextIO

_RULE = "*" * 100
_LEGEND = """\
ITER: The iteration being evaluated.
PIPELINE: A summary description of the pipeline being evaluated.
DURATION: Time taken for the current iteration.
METRIC: The result of computing {metric} on the fitted pipeline.
BEST: The best observed score thus far.
BUDGET: Share of the experiment's time budget used so far."""


class ConsoleReporter:
    def __init__(self, enabled: bool, metric: str, stream: TextIO | None = None) -> None:
        self.enabled = enabled
        self.metric = metric
        self.stream = stream or sys.stdout

    def _print(self, text: str = "") -> None:
        if self.enabled:
            print(text, file=self.stream, flush=True)

    def start(
        self,
        run_name: str,
        run_id: str,
        experiment_id: str,
        facts: dict[str, Any],
        guardrails: list[Any],
    ) -> None:
        self._print(f"AutoML run {run_name} (run id {run_id}, experiment id {experiment_id})")
        for key, value in facts.items():
            self._print(f"  {key}: {value}")
        if guardrails:
            self._print("Data guardrails:")
            for row in guardrails:
                self._print(f"  {row.status.upper():<8} {row.name}: {row.description}")
        self._print(_RULE)
        self._print(_LEGEND.format(metric=self.metric))
        self._print(_RULE)
        self._print(
            f"\n{'ITER':>5}   {'PIPELINE':<44}{'DURATION':>10}{'METRIC':>12}{'BEST':>10}"
            f"{'BUDGET':>9}"
        )

    def trial(
        self,
        iteration: int,
        pipeline: str,
        seconds: float,
        score: float | None,
        best: float | None,
        budget_used: float | None,
        note: str = "",
    ) -> None:
        duration = str(timedelta(seconds=round(seconds)))
        metric = f"{score:.4f}" if score is not None else "failed"
        best_text = f"{best:.4f}" if best is not None else "-"
        budget = f"{budget_used:.0%}" if budget_used is not None else "-"
        line = f"{iteration:>5}   {pipeline[:43]:<44}{duration:>10}{metric:>12}{best_text:>10}"
        self._print(f"{line}{budget:>9}{('  ' + note) if note else ''}")

    def end(self, lines: dict[str, Any]) -> None:
        self._print(_RULE)
        for key, value in lines.items():
            self._print(f"{key}: {value}")


def budget_text(config: Any) -> str:
    """The time budget of an ``AutoMLConfig`` as the console shows it."""
    parts = []
    if config.timeout_seconds is not None:
        parts.append(f"{config.timeout_seconds:.0f} s")
    if config.iterations is not None:
        parts.append(f"{config.iterations} iterations")
    if config.experiment_exit_score is not None:
        parts.append(f"exit score {config.experiment_exit_score}")
    return ", ".join(parts) or "until the score stops improving"


def best_text(best: Any, metric: str) -> str:
    """The best leaderboard entry as the console shows it."""
    if best is None:
        return "-"
    b = best
    return f"iteration {b.iteration} {b.pipeline}: {metric} = {b.score:.4f}"
