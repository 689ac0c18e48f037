"""Setting names shared below the config: Azure's aliases and the settings error.

Kept apart from ``config.py`` so that modules the config validates with (forecasting's
parameters and time parsing) can raise the same error without importing the config.
"""

from __future__ import annotations

from typing import Any


class AutoMLConfigError(ValueError):
    """A setting is wrong; the message names the setting and the value at fault."""


# Azure's names (old or current) for our settings: accepted and mapped; giving both names with
# different values is an error.
ALIASES: dict[str, str] = {
    "freq": "frequency",
    "target_aggregation_function": "target_aggregate_function",
    "short_series_handling_configuration": "short_series_handling_config",
    "max_horizon": "forecast_horizon",
    "grain_column_names": "time_series_id_column_names",
}


def resolve_aliases(settings: dict[str, Any]) -> dict[str, Any]:
    """Azure's names mapped to ours; the same setting under two names must agree."""
    resolved = dict(settings)
    for alias, name in ALIASES.items():
        if alias not in resolved:
            continue
        value = resolved.pop(alias)
        if resolved.get(name) is not None and value is not None and resolved[name] != value:
            raise AutoMLConfigError(
                f"{alias}={value!r} and {name}={resolved[name]!r} are the same setting "
                f"({alias} is Azure's name for {name}) with different values; set it once."
            )
        if resolved.get(name) is None:
            resolved[name] = value
    return resolved
