"""Clean stops: SIGINT (Ctrl+C) and SIGTERM (``timeout``, docker, Kubernetes) end an experiment
the same way.

The first signal asks for a stop: the search kills its running trials (their workers' process
groups), the experiment's deadline moves to a few seconds from now so the best model found so
far is refit (or its no-refit fallback used) and logged within it, and the AutoML run ends
KILLED with ``automl.stop_reason`` ("stopped by SIGTERM"). A second signal during that wrap-up
stops at once, but the run is still terminated. When ``submit`` returns, the caller's own
handlers are back, and the signal is passed on to them: Python's default turns SIGINT into
``KeyboardInterrupt``; a default SIGTERM ends the process with that signal, as it would have
without us.

Handlers can only be installed from the main thread; elsewhere (``submit`` called from a
worker thread) signals keep their usual meaning.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any

logger = logging.getLogger("mlflow_automl")

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
# How long the wrap-up after a first signal may take: refit or fallback, model logging, tables.
STOP_GRACE_SECONDS = 5.0


class StopRequested(KeyboardInterrupt):
    """A stop signal arrived while the experiment was blocked in an interruptible call."""


class StopNow(KeyboardInterrupt):
    """A second stop signal: give up the wrap-up (the run is still terminated)."""


class StopSignals:
    """Context manager that turns SIGINT/SIGTERM into a clean stop for one ``submit``."""

    def __init__(self) -> None:
        self.signum: int | None = None
        self._previous: dict[int, Any] = {}
        self._callbacks: list[Callable[[], None]] = []
        self._interruptible = 0
        self._shielded = 0
        self._wake_read: int | None = None
        self._wake_write: int | None = None
        self.summary: str | None = None  # what the stopped experiment kept, for the caller

    # --- state ------------------------------------------------------------------------------------
    @property
    def requested(self) -> bool:
        return self.signum is not None

    @property
    def reason(self) -> str | None:
        """``"stopped by SIGTERM"`` once a stop was asked for, else None."""
        if self.signum is None:
            return None
        return f"stopped by {signal.Signals(self.signum).name}"

    @property
    def wakeup_fd(self) -> int | None:
        """Readable once a stop is asked for: executors wait on it next to their workers."""
        return self._wake_read

    def on_stop(self, callback: Callable[[], None]) -> None:
        """Calls ``callback`` (in the signal handler: keep it to setting attributes) on the
        first signal, or at once if it already came."""
        self._callbacks.append(callback)
        if self.requested:
            callback()

    @contextlib.contextmanager
    def interruptible(self) -> Iterator[None]:
        """A block that the first signal ends with :class:`StopRequested` (a blocking start of
        a worker, an in-process trial): nothing in it is left half-written."""
        if self.requested:
            raise StopRequested(self.reason)
        self._interruptible += 1
        try:
            yield
        finally:
            self._interruptible -= 1

    @contextlib.contextmanager
    def shielded(self) -> Iterator[None]:
        """A block that even a second signal does not interrupt (ending the run: short and
        bounded)."""
        self._shielded += 1
        try:
            yield
        finally:
            self._shielded -= 1

    # --- installing -------------------------------------------------------------------------------
    def __enter__(self) -> StopSignals:
        if threading.current_thread() is not threading.main_thread():
            return self
        self._wake_read, self._wake_write = os.pipe()
        os.set_blocking(self._wake_write, False)
        for signum in STOP_SIGNALS:
            previous = signal.getsignal(signum)
            if previous is signal.SIG_IGN or previous is None:
                continue  # the caller chose to ignore it (nohup, a supervisor): keep that
            self._previous[signum] = previous
            signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        self.restore()

    def restore(self) -> None:
        """Puts the caller's handlers back (idempotent)."""
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)
        self._previous = {}
        for fd in (self._wake_read, self._wake_write):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._wake_read = self._wake_write = None

    def pass_on(self) -> None:
        """After the wrap-up: hands the signal to the caller's previous handler (call after
        :meth:`restore`). A default SIGTERM ends the process with that signal."""
        if self.signum is None:
            return
        handler = signal.getsignal(self.signum)
        message = self.summary or self.reason
        if handler is signal.default_int_handler:
            raise KeyboardInterrupt(message)
        if callable(handler):
            handler(self.signum, None)  # Python's SIGINT default raises KeyboardInterrupt
        elif handler == signal.SIG_DFL:
            sys.stdout.flush()
            sys.stderr.flush()
            signal.raise_signal(self.signum)
        raise KeyboardInterrupt(message)  # a handler that returned: still stop the caller

    def _handle(self, signum: int, frame: Any) -> None:
        if self.signum is None:
            self.signum = signum
            if self._wake_write is not None:
                with contextlib.suppress(OSError):
                    os.write(self._wake_write, b"\0")
            for callback in self._callbacks:
                callback()
            if self._interruptible:
                raise StopRequested(self.reason)
            return
        if not self._shielded:
            raise StopNow(f"{self.reason}; second signal: stopping at once")


def cut_budget(budget: Any, seconds: float) -> None:
    """Moves ``budget``'s deadline to ``seconds`` from now, unless it is sooner (signal-safe:
    it only sets an attribute)."""
    left = budget.elapsed() + seconds
    if budget.timeout_seconds is None or budget.timeout_seconds > left:
        budget.timeout_seconds = left


def stop_summary(run_id: str, reason: str | None, model_uri: str | None, registered: bool) -> str:
    """Says what a stopped experiment kept (a warning, and the KeyboardInterrupt's text)."""
    if model_uri:
        kept = f"best model so far logged as {model_uri}: AutoMLRun({run_id!r}).get_output()"
        if registered:
            kept += " (not registered: the run was stopped)"
    else:
        kept = "no trial had finished, so there is no model"
    summary = f"AutoML run {run_id} {reason}; {kept}"
    logger.warning(summary)
    return summary
