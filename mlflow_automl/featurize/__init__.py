"""Featurization: raw feature DataFrame -> numeric matrix, as the first step of the model.

``plan_featurization`` inspects the training data once and returns a ``FeaturizationPlan``;
``plan.make_transformer()`` builds a fresh unfitted sklearn transformer for every CV fold and
the final model.  ``check_guardrails`` reports Azure-style data guardrails.  See
:mod:`.inference` for the type detection rules and :mod:`.plan` for encoder choices.
"""

from .config import BLOCKABLE_TRANSFORMERS, FEATURE_TYPES, FeaturizationConfig
from .featurizer import Featurizer
from .guardrails import Guardrail, check_guardrails
from .plan import ColumnSummary, FeaturizationPlan, plan_featurization

__all__ = [
    "BLOCKABLE_TRANSFORMERS",
    "FEATURE_TYPES",
    "ColumnSummary",
    "FeaturizationConfig",
    "FeaturizationPlan",
    "Featurizer",
    "Guardrail",
    "check_guardrails",
    "plan_featurization",
]
