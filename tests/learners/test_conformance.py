"""Every learner in the registry, for every task it supports, passes the shared conformance
checks of :mod:`mlflow_automl.learners.conformance`."""

import pytest

from mlflow_automl.learners import LEARNERS
from mlflow_automl.learners.conformance import conformance_cases, run_check

CASES = conformance_cases(LEARNERS.values())


@pytest.mark.parametrize(
    ("learner", "kind", "check"),
    CASES,
    ids=[f"{learner.name}-{kind}-{check}" for learner, kind, check in CASES],
)
def test_conformance(learner, kind, check):
    run_check(learner, kind, check)
