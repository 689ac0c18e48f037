"""Hyperparameter domains that learners declare and proposers sample.

A learner's search space is a plain ``dict[str, Domain]``. Domains know how to ask an Optuna
trial for a value, so the proposer never needs to know which learner it is tuning.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class Domain:
    """One hyperparameter's set of values."""

    def suggest(self, trial: Any, name: str) -> Any:  # trial: optuna.trial.Trial
        raise NotImplementedError

    def contains(self, value: Any) -> bool:
        raise NotImplementedError


@dataclass(frozen=True)
class Int(Domain):
    low: int
    high: int
    log: bool = False

    def __post_init__(self) -> None:
        if self.low > self.high:
            raise ValueError(f"Int domain has low={self.low} > high={self.high}")

    def suggest(self, trial: Any, name: str) -> int:
        return trial.suggest_int(name, self.low, self.high, log=self.log)

    def contains(self, value: Any) -> bool:
        return isinstance(value, int | float) and self.low <= value <= self.high


@dataclass(frozen=True)
class Float(Domain):
    low: float
    high: float
    log: bool = False

    def __post_init__(self) -> None:
        if self.low > self.high:
            raise ValueError(f"Float domain has low={self.low} > high={self.high}")

    def suggest(self, trial: Any, name: str) -> float:
        return trial.suggest_float(name, self.low, self.high, log=self.log)

    def contains(self, value: Any) -> bool:
        return isinstance(value, int | float) and self.low <= value <= self.high


@dataclass(frozen=True)
class Categorical(Domain):
    choices: tuple

    def suggest(self, trial: Any, name: str) -> Any:
        return trial.suggest_categorical(name, list(self.choices))

    def contains(self, value: Any) -> bool:
        return value in self.choices
