"""Azure-style featurization customization (``FeaturizationConfig``).

Mirrors ``azureml.automl.core.featurization.FeaturizationConfig``: users can force a column's
feature type, tune a few transformers per column, block transformers and drop columns.
Everything that can be checked without the data is checked as soon as it is set; column names
are checked by :meth:`FeaturizationConfig.validate` once the data is known.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

FEATURE_TYPES = ("Numeric", "Categorical", "CategoricalHash", "DateTime", "Text", "Ignore")

BLOCKABLE_TRANSFORMERS = (
    "OneHotEncoder",
    "TargetEncoder",
    "HashOneHotEncoder",
    "TfIdf",
    "DateTimeFeaturizer",
    "MissingIndicator",
)

IMPUTER_STRATEGIES = ("mean", "median", "most_frequent", "constant")

# Transformer -> parameters it accepts through ``add_transformer_params``.
TRANSFORMER_PARAMS: dict[str, tuple[str, ...]] = {
    "Imputer": ("strategy", "fill_value"),
    "HashOneHotEncoder": ("number_of_bits",),
    "TfIdf": ("max_features", "ngram_range"),
}


def _canonical(name: str, allowed: Iterable[str], what: str) -> str:
    """Return the canonical spelling of ``name`` (case-insensitive) or raise naming it."""
    allowed = tuple(allowed)
    for candidate in allowed:
        if isinstance(name, str) and name.lower() == candidate.lower():
            return candidate
    raise ValueError(f"unknown {what} {name!r}; expected one of {', '.join(allowed)}")


def _check_param_value(transformer: str, key: str, value: Any) -> None:
    """Raise ValueError when a transformer parameter has an unusable value."""
    ok = True
    if key == "strategy":
        ok = value in IMPUTER_STRATEGIES
    elif key == "number_of_bits":
        ok = isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 24
    elif key == "max_features":
        ok = value is None or (isinstance(value, int) and not isinstance(value, bool) and value > 0)
    elif key == "ngram_range":
        ok = (
            isinstance(value, (tuple, list))
            and len(value) == 2
            and all(isinstance(v, int) for v in value)
            and 1 <= value[0] <= value[1]
        )
    if not ok:
        raise ValueError(f"invalid value {value!r} for parameter {key!r} of {transformer}")


def _check_params(transformer: str, params: dict) -> None:
    allowed = TRANSFORMER_PARAMS[transformer]
    for key, value in params.items():
        if key not in allowed:
            raise ValueError(
                f"unknown parameter {key!r} for transformer {transformer}; "
                f"expected one of {', '.join(allowed)}"
            )
        _check_param_value(transformer, key, value)


class FeaturizationConfig:
    """Azure-style customization of the automatic featurization."""

    def __init__(
        self,
        column_purposes: dict[str, str] | None = None,
        transformer_params: dict[str, list[tuple[list[str], dict]]] | None = None,
        blocked_transformers: list[str] | None = None,
        drop_columns: list[str] | None = None,
    ) -> None:
        self.column_purposes: dict[str, str] = {}
        self.transformer_params: dict[str, list[tuple[list[str], dict]]] = {}
        self.blocked_transformers: list[str] = []
        self.drop_columns: list[str] = []
        for column, feature_type in (column_purposes or {}).items():
            self.add_column_purpose(column, feature_type)
        for transformer, entries in (transformer_params or {}).items():
            for cols, params in entries:
                self.add_transformer_params(transformer, cols, params)
        self.add_blocked_transformers(blocked_transformers or [])
        self.add_drop_columns(drop_columns or [])

    def add_column_purpose(self, column_name: str, feature_type: str) -> None:
        """Force ``column_name`` to be featurized as ``feature_type`` (see FEATURE_TYPES)."""
        self.column_purposes[column_name] = _canonical(feature_type, FEATURE_TYPES, "feature type")

    def add_transformer_params(self, transformer: str, cols: list[str], params: dict) -> None:
        """Set ``params`` of ``transformer`` for the columns ``cols`` (later calls win)."""
        transformer = _canonical(transformer, TRANSFORMER_PARAMS, "transformer")
        if isinstance(cols, str):
            cols = [cols]
        _check_params(transformer, dict(params))
        self.transformer_params.setdefault(transformer, []).append(
            (list(cols), copy.deepcopy(dict(params)))
        )

    def add_blocked_transformers(self, transformers: list[str]) -> None:
        """Never use the given transformers (names from BLOCKABLE_TRANSFORMERS)."""
        if isinstance(transformers, str):
            transformers = [transformers]
        for name in transformers:
            name = _canonical(name, BLOCKABLE_TRANSFORMERS, "blockable transformer")
            if name not in self.blocked_transformers:
                self.blocked_transformers.append(name)

    def add_drop_columns(self, drop_columns: list[str]) -> None:
        """Drop the given columns before featurization."""
        if isinstance(drop_columns, str):
            drop_columns = [drop_columns]
        for column in drop_columns:
            if column not in self.drop_columns:
                self.drop_columns.append(column)

    def params_for(self, transformer: str, column: str) -> dict:
        """Merged parameters of ``transformer`` for ``column`` (later entries override)."""
        merged: dict = {}
        for cols, params in self.transformer_params.get(transformer, []):
            if column in cols:
                merged.update(params)
        return merged

    def referenced_columns(self) -> list[str]:
        """Every column name the config mentions, in first-mention order."""
        names = list(self.column_purposes) + list(self.drop_columns)
        for entries in self.transformer_params.values():
            for cols, _ in entries:
                names.extend(cols)
        return list(dict.fromkeys(names))

    def validate(self, columns: list[str]) -> None:
        """Raise ValueError naming any unknown column, feature type, transformer or parameter."""
        for column, feature_type in self.column_purposes.items():
            _canonical(feature_type, FEATURE_TYPES, f"feature type for column {column!r}:")
        for transformer, entries in self.transformer_params.items():
            _canonical(transformer, TRANSFORMER_PARAMS, "transformer")
            for _, params in entries:
                _check_params(transformer, params)
        for name in self.blocked_transformers:
            _canonical(name, BLOCKABLE_TRANSFORMERS, "blockable transformer")
        known = set(columns)
        unknown = [c for c in self.referenced_columns() if c not in known]
        if unknown:
            raise ValueError(
                "FeaturizationConfig names columns not in the data: "
                + ", ".join(repr(c) for c in unknown)
            )

    def to_dict(self) -> dict:
        """JSON-friendly representation for logging."""
        return {
            "column_purposes": dict(self.column_purposes),
            "transformer_params": {
                name: [
                    [list(cols), {k: list(v) if isinstance(v, tuple) else v for k, v in p.items()}]
                    for cols, p in entries
                ]
                for name, entries in self.transformer_params.items()
            },
            "blocked_transformers": list(self.blocked_transformers),
            "drop_columns": list(self.drop_columns),
        }

    def __repr__(self) -> str:
        return f"FeaturizationConfig({self.to_dict()!r})"
