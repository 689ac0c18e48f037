"""Does the whole test suite pass on a busy machine? Run it before resolving a change that
touches timing, not in CI (it takes as long as the suite, slowed by the load).

    python -m benchmarks.busy_suite                 # two busy processes, the whole suite
    python -m benchmarks.busy_suite --busy 2 -- -m "not slow"

The harness starts ``--busy`` processes that each keep a core busy (``python -c "while True:
pass"``), runs pytest with the remaining arguments, stops them, and appends one line per call
to ``benchmarks/BUSY_SUITE.md``: date, load, the pytest arguments, wall time and pytest's
closing summary (the whole output of the last call: ``benchmarks/busy_suite.log``). Tests print
the stop, outage and resume figures of the hard-limits issue as ``FIGURE ...`` lines; those of
this call go to ``benchmarks/HARD_LIMITS.md``:

    python -m benchmarks.busy_suite -- tests/test_stops.py tests/tracking/test_journal.py \
        tests/test_resume.py

Its exit code is pytest's.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from benchmarks.time_budget import busy_processes

HERE = Path(__file__).parent
RESULTS = HERE / "BUSY_SUITE.md"
LOG = HERE / "busy_suite.log"  # the last call's whole pytest output (not committed)
FIGURES = HERE / "HARD_LIMITS.md"
_HEADER = (
    "# The test suite on a busy machine\n\n"
    "`python -m benchmarks.busy_suite`: pytest while `busy` processes keep cores busy.\n\n"
    "| date (UTC) | cores | busy | pytest arguments | wall (s) | result |\n"
    "|---|---|---|---|---|---|\n"
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--busy", type=int, default=2, help="busy processes (default 2)")
    parser.add_argument("pytest_args", nargs="*", help="passed to pytest (after --)")
    args = parser.parse_args(argv)
    started = time.time()
    with busy_processes(args.busy):
        completed = subprocess.run(
            # -rP: the captured output of passed tests too, where the FIGURE lines are
            [sys.executable, "-m", "pytest", "-q", "-rP", "-p", "no:cacheprovider"]
            + args.pytest_args,
            capture_output=True,
            text=True,
        )
    wall = time.time() - started
    # The whole output goes to a file: a failure's traceback is far above the closing lines.
    LOG.write_text(completed.stdout + completed.stderr)
    sys.stdout.write(completed.stdout[-5000:])
    sys.stderr.write(completed.stderr[-5000:])
    lines = [line for line in completed.stdout.splitlines() if line.strip()]
    summary = lines[-1].strip("= ") if lines else f"exit {completed.returncode}"
    if not RESULTS.exists():
        RESULTS.write_text(_HEADER)
    with RESULTS.open("a") as out:
        out.write(
            f"| {datetime.now(timezone.utc):%Y-%m-%d %H:%M} | {os.cpu_count()} | {args.busy} "
            f"| `{' '.join(args.pytest_args) or '(all)'}` | {wall:.0f} | {summary} |\n"
        )
    figures = [line for line in completed.stdout.splitlines() if line.startswith("FIGURE ")]
    if figures:
        _write_figures(figures, args, wall, summary)
    return completed.returncode


def _write_figures(figures: list[str], args: argparse.Namespace, wall: float, summary: str):
    FIGURES.write_text(
        "# Hard limits: stops, a tracking outage, resume\n\n"
        "From the tests that prove them, run by `python -m benchmarks.busy_suite` "
        f"({datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, "
        f"{args.busy} busy processes, `{' '.join(args.pytest_args)}`: {summary}, "
        f"{wall:.0f} s).\n\n"
        "Goals: a stopped experiment exits within seconds and its parent run is KILLED; "
        "0 child runs lost in a tracking outage; 0 configurations run twice on resume.\n\n"
        + "".join(f"- {line.removeprefix('FIGURE ')}\n" for line in figures)
    )


if __name__ == "__main__":
    sys.exit(main())
