"""Search: what to try next (``Proposer``), when to stop (``Budget``), value domains (``space``)."""

from mlflow_automl.search.budget import Budget
from mlflow_automl.search.proposer import Proposer

__all__ = ["Budget", "Proposer"]
