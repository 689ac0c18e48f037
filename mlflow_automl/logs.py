"""The package logger of one experiment: its level and the optional debug log file."""

from __future__ import annotations

import logging
from typing import Any


def configure_logging(config: Any) -> logging.Handler | None:
    """Sets the package logger's level (``verbosity``); with ``debug_log``, adds a DEBUG file
    handler under ``path``, returned so the caller removes it when the experiment ends."""
    package_logger = logging.getLogger("mlflow_automl")
    level = config.verbosity
    package_logger.setLevel(level if isinstance(level, int) else level.upper())
    if not config.debug_log:
        return None
    from pathlib import Path

    path = Path(config.path or ".") / config.debug_log
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path)
    handler.setLevel(logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    package_logger.addHandler(handler)
    package_logger.setLevel(logging.DEBUG)
    return handler
