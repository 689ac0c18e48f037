"""Time-series validation and repair: parse the time column, find the series, fix the grid.

Everything here runs before any MLflow run exists. Each problem is either a clear
``AutoMLConfigError`` naming the series, column and value at fault, or a documented repair that
is reported as a guardrail:

* **time column that does not parse** -> error (row and value named). Whole numbers 1000..2999
  are read as years.
* **duplicate timestamps within a series** -> error, unless ``target_aggregate_function`` is set
  (then the rows are aggregated: target with that function, numeric features with the mean,
  others with the last value). Without series ids, repeated timestamps first trigger series-id
  detection.
* **timestamps off the frequency grid** (irregular) -> error, unless ``target_aggregate_function``
  is set (then each timestamp is floored to its grid period and aggregated).
* **missing periods** (gaps on the grid) -> rows are inserted, the target and the features are
  forward-filled (repair). A series with more than half of its periods missing is an error: its
  frequency is not the data's.
* **missing target values** -> forward fill within the series (repair); leading missing values
  are dropped (a series starts at its first observation); an all-missing series is an error.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd
from pandas.tseries.frequencies import to_offset

from mlflow_automl.setting_names import AutoMLConfigError

SINGLE_SERIES = "__single_series__"  # key of the only series when there are no id columns
_MAX_GAP_FRACTION = 0.5
_MAX_ID_CANDIDATES = 8  # columns considered when detecting series ids


# --------------------------------------------------------------------------------------------
# Frequency, season length and the time grid
# --------------------------------------------------------------------------------------------


_DAY = pd.Timedelta(days=1)

# Calendar (non-fixed) frequencies by offset class, with their periods per year. Classes, not
# names: ``type(offset).__name__`` and ``rule_code`` changed between pandas versions ("M" ->
# "ME", "Q-DEC" -> "QE-DEC", "A" -> "YE"), the classes did not.
_PERIODS_PER_YEAR: tuple[tuple[tuple[type, ...], int], ...] = (
    ((pd.offsets.Week,), 52),
    ((pd.offsets.SemiMonthBegin, pd.offsets.SemiMonthEnd), 24),
    (
        (
            pd.offsets.MonthBegin,
            pd.offsets.MonthEnd,
            pd.offsets.BusinessMonthBegin,
            pd.offsets.BusinessMonthEnd,
            pd.offsets.CustomBusinessMonthBegin,
            pd.offsets.CustomBusinessMonthEnd,
            pd.offsets.WeekOfMonth,
            pd.offsets.LastWeekOfMonth,
        ),
        12,
    ),
    (
        (
            pd.offsets.QuarterBegin,
            pd.offsets.QuarterEnd,
            pd.offsets.BQuarterBegin,
            pd.offsets.BQuarterEnd,
            pd.offsets.FY5253Quarter,
        ),
        4,
    ),
)


def fixed_step(freq: Any) -> pd.Timedelta | None:
    """The length of one period when it is fixed (seconds up to days); ``None`` for calendar
    frequencies (anchored weeks, business days, months, quarters, years).

    pandas 3 made ``Day`` a calendar offset, no longer a ``Tick``; on the naive timestamps used
    here a day is still 24 hours, so days are a fixed step on pandas 2 and 3 alike.
    """
    offset = to_offset(freq)
    if isinstance(offset, (pd.offsets.Tick, pd.offsets.Day)):
        return pd.Timedelta(offset)
    return None


def normalize_frequency(freq: Any) -> str:
    """The frequency's canonical alias; a fixed step of whole days is spelled in days ("D",
    "7D"): pandas 3 spells ``to_offset(Timedelta(days=1))`` "24h", which is not seen as daily
    by the season rules of pandas 2 users."""
    step = fixed_step(freq)
    if step is not None and step >= _DAY and step % _DAY == pd.Timedelta(0):
        days = step // _DAY
        return "D" if days == 1 else f"{days}D"
    return to_offset(freq).freqstr


def season_length(freq: Any) -> int:
    """The natural season of a frequency: 24 for hourly, 48 for half-hourly, 7 for daily, 52 for
    weekly (also "7D"), 24 for semi-monthly, 12 for monthly, 4 for quarterly, 5 for business
    days, 1 for yearly. A multiple of a calendar frequency divides the season when it can
    ("2W" -> 26, "2MS" -> 6), else 1."""
    step = fixed_step(freq)
    if step is not None:
        if step < _DAY:
            return max(1, int(round(_DAY / step)))
        if step == _DAY:
            return 7
        return 52 if step == 7 * _DAY else 1
    offset = to_offset(freq)
    if isinstance(offset, pd.offsets.BusinessDay):  # CustomBusinessDay too: the working week
        return 5 if offset.n == 1 else 1
    for classes, per_year in _PERIODS_PER_YEAR:
        if isinstance(offset, classes):
            return per_year // offset.n if per_year % offset.n == 0 else 1
    return 1


def second_season(freq: Any) -> int | None:
    """A longer season worth a lag and Fourier terms: the week for sub-daily data, the year
    for daily data."""
    step = fixed_step(freq)
    if step is not None and step < _DAY:
        return 7 * season_length(freq)
    if step == _DAY:
        return 365
    return None


def calendar_parts(freq: Any) -> tuple[str, ...]:
    """The ``DatetimeIndex`` attributes that vary within the season of ``freq``: hour, day of
    week, month, day of year or quarter."""
    step = fixed_step(freq)
    if step is not None:
        if step < _DAY:
            return ("hour", "dayofweek", "month")
        if step < 7 * _DAY:
            return ("dayofweek", "month", "dayofyear")
        return ("month",)
    offset = to_offset(freq)
    if isinstance(offset, pd.offsets.BusinessDay):
        return ("dayofweek", "month")
    per_year = next((n for classes, n in _PERIODS_PER_YEAR if isinstance(offset, classes)), 1)
    if per_year > 4:
        return ("month",)
    return ("quarter",) if per_year == 4 else ()


@dataclass(frozen=True)
class TimeGrid:
    """The regular grid of timestamps ``origin + k * freq``; maps times to integer positions."""

    origin: pd.Timestamp
    freq: str

    @property
    def offset(self) -> pd.DateOffset:
        return to_offset(self.freq)

    def positions(self, times: Any, what: str = "time") -> np.ndarray:
        """Integer grid positions of ``times``; ``ValueError`` naming the first off-grid time."""
        index = pd.DatetimeIndex(pd.to_datetime(times))
        if len(index) == 0:
            return np.zeros(0, dtype=np.int64)
        offset, step = self.offset, fixed_step(self.freq)
        if step is not None:
            exact = (index - self.origin) / step
            positions = np.round(np.asarray(exact, dtype=float)).astype(np.int64)
            bad = np.flatnonzero(np.abs(np.asarray(exact, dtype=float) - positions) > 1e-9)
        else:
            lowest, highest = min(index.min(), self.origin), index.max()
            start = self.origin
            while start > lowest:  # anchored offsets: walk back from the origin
                start = start - offset * 64
            grid = pd.date_range(start=start, end=highest + offset, freq=offset)
            shift = int(grid.get_loc(self.origin))
            found = np.clip(grid.searchsorted(index), 0, len(grid) - 1)
            bad = np.flatnonzero(grid[found] != index)
            positions = found.astype(np.int64) - shift
        if bad.size:
            raise ValueError(
                f"{what} {index[bad[0]]} is not on the {self.freq!r} grid that starts at "
                f"{self.origin}"
            )
        return positions

    def floor_positions(self, times: Any) -> np.ndarray:
        """The grid period each time falls in (the last grid point at or before it)."""
        index = pd.DatetimeIndex(pd.to_datetime(times))
        offset, step = self.offset, fixed_step(self.freq)
        if step is not None:
            return np.floor((index - self.origin) / step).astype(np.int64)
        grid = pd.date_range(start=self.origin, end=index.max() + offset, freq=offset)
        return grid.searchsorted(index, side="right").astype(np.int64) - 1

    def times(self, positions: Any) -> pd.DatetimeIndex:
        positions = np.asarray(positions, dtype=np.int64)
        if positions.size == 0:
            return pd.DatetimeIndex([])
        offset, step = self.offset, fixed_step(self.freq)
        if step is not None:
            return pd.DatetimeIndex(self.origin + positions * step)
        low = int(min(positions.min(), 0))
        grid = pd.date_range(
            start=self.origin + low * offset, periods=int(positions.max()) - low + 1, freq=offset
        )
        return grid[positions - low]


def infer_frequency(times_by_series: list[pd.DatetimeIndex], column: str) -> str:
    """The most common frequency pandas infers over the series; else the most common step."""
    votes: dict[str, int] = {}
    for times in sorted(times_by_series, key=len, reverse=True)[:50]:
        if len(times) < 3:
            continue
        freq = _infer_freq(times)
        if freq:
            votes[freq] = votes.get(freq, 0) + len(times)
            continue
        # A series with gaps: vote over short runs of consecutive timestamps instead.
        for start in np.linspace(0, len(times) - 3, num=min(9, len(times) - 2)).astype(int):
            run = times[start : start + 7]
            freq = _infer_freq(run) if len(run) >= 3 else None
            if freq:
                votes[freq] = votes.get(freq, 0) + 1
    if votes:
        return max(votes, key=votes.get)
    steps = np.concatenate(
        [np.diff(t.as_unit("ns").asi8) for t in times_by_series if len(t) > 1] or [[]]
    )
    steps = steps[steps > 0]
    if steps.size:
        values, counts = np.unique(steps, return_counts=True)
        step = pd.Timedelta(int(values[np.argmax(counts)]), unit="ns")
        if step < pd.Timedelta(days=28):  # beyond that, months and years are not fixed lengths
            return normalize_frequency(step)
    raise AutoMLConfigError(
        f"time column {column!r}: cannot infer the frequency of the series (too few or too "
        "irregular timestamps); set frequency (e.g. 'D', 'h', 'W-SUN', 'MS', 'QS')."
    )


def _infer_freq(times: pd.DatetimeIndex) -> str | None:
    """``pd.infer_freq`` as a canonical alias (a future pandas returns an offset)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pandas 3's notice that the return type will change
        freq = pd.infer_freq(times)
    return normalize_frequency(freq) if freq is not None else None


# --------------------------------------------------------------------------------------------
# Parsing and series ids
# --------------------------------------------------------------------------------------------


def parse_times(values: pd.Series, column: str) -> pd.Series:
    """The time column as naive ``datetime64``; an error names the first value that fails."""
    if values.isna().any():
        row = values.index[values.isna()][0]
        raise AutoMLConfigError(f"time column {column!r} has a missing value (row {row}).")
    if pd.api.types.is_datetime64_any_dtype(values):
        parsed = values
    elif pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        numbers = values.astype(float)
        if not (np.all(numbers == np.round(numbers)) and numbers.between(1000, 2999).all()):
            bad = values[~(numbers.between(1000, 2999) & (numbers == np.round(numbers)))]
            raise AutoMLConfigError(
                f"time column {column!r} holds numbers that are not dates or years, e.g. "
                f"{bad.iloc[0]!r} (row {bad.index[0]})."
            )
        parsed = pd.to_datetime(numbers.astype(int).astype(str), format="%Y")
    else:
        text = values.astype(str)
        try:
            parsed = pd.to_datetime(text, errors="coerce", format="mixed")
        except (ValueError, TypeError):
            parsed = pd.to_datetime(text, errors="coerce")
        if parsed.isna().any():
            # e.g. "1939 Jan" (R's yearmonth), "2001 Q1" (yearquarter) parse as periods
            parsed = _parse_periods(text, parsed)
        if parsed.isna().any():
            bad = values[parsed.isna()]
            raise AutoMLConfigError(
                f"time column {column!r}: cannot parse {bad.iloc[0]!r} (row {bad.index[0]}) "
                "as a date/time."
            )
    parsed = pd.Series(pd.DatetimeIndex(parsed), index=values.index)
    if parsed.dt.tz is not None:
        parsed = parsed.dt.tz_convert("UTC").dt.tz_localize(None)
    return parsed.astype("datetime64[ns]")


def _parse_periods(text: pd.Series, parsed: pd.Series) -> pd.Series:
    out = parsed.copy()
    for fmt in ("%Y %b", "%Y %B", "%Y-%m"):
        attempt = pd.to_datetime(text, format=fmt, errors="coerce")
        out = out.fillna(attempt) if out.isna().any() else out
    missing = out.isna()
    if missing.any():
        quarters = text[missing].str.extract(r"^\s*(\d{4})\s*[- ]?Q([1-4])\s*$")
        ok = quarters.notna().all(axis=1)
        if ok.any():
            rows = quarters[ok].index
            starts = pd.to_datetime(
                quarters.loc[rows, 0]
                + "-"
                + ((quarters.loc[rows, 1].astype(int) - 1) * 3 + 1).astype(str)
                + "-01"
            )
            out.loc[rows] = starts.to_numpy()
    return out


def detect_series_ids(
    frame: pd.DataFrame, time_column: str, candidates: list[str]
) -> list[str] | None:
    """The smallest set of non-numeric (or low-cardinality integer) columns that, with the time
    column, identifies every row; ``None`` when no such set exists."""
    usable = []
    for column in candidates:
        values = frame[column]
        distinct = values.nunique(dropna=False)
        if distinct < 2 or distinct > max(2, len(frame) // 3):
            continue
        if pd.api.types.is_float_dtype(values):
            continue
        usable.append((distinct, column))
    usable = [c for _, c in sorted(usable)][:_MAX_ID_CANDIDATES]
    for size in (1, 2, 3):
        for combo in combinations(usable, size):
            if not frame.duplicated([time_column, *combo]).any():
                return list(combo)
    return None


def series_keys(frame: pd.DataFrame, id_columns: list[str] | tuple[str, ...]) -> pd.Series:
    """One string key per row naming its series (``"a"`` or ``"a|b"`` for two id columns)."""
    if not id_columns:
        return pd.Series(SINGLE_SERIES, index=frame.index, dtype=object)
    if len(id_columns) == 1:
        return frame[id_columns[0]].astype(str).astype(object)
    return frame[list(id_columns)].astype(str).agg("|".join, axis=1).astype(object)


# --------------------------------------------------------------------------------------------
# Regularisation
# --------------------------------------------------------------------------------------------


@dataclass
class Repairs:
    """What :func:`regularize` changed, for the guardrails."""

    aggregated_rows: int = 0
    filled_periods: dict[str, int] = field(default_factory=dict)
    filled_targets: dict[str, int] = field(default_factory=dict)
    dropped_leading_rows: int = 0


def regularize(
    frame: pd.DataFrame,
    keys: pd.Series,
    time_column: str,
    label: str,
    grid: TimeGrid,
    aggregate: str | None,
    id_columns: list[str],
) -> tuple[pd.DataFrame, Repairs]:
    """The frame on a complete regular grid per series, sorted by (series, time).

    Adds ``_series`` (key) and ``_position`` (grid position) columns.
    """
    repairs = Repairs()
    frame = frame.assign(_series=keys.to_numpy())
    if aggregate is not None:
        floored = grid.floor_positions(frame[time_column])
        frame = frame.assign(_position=floored)
        before = len(frame)
        frame = _aggregate(frame, label, aggregate, time_column, id_columns)
        repairs.aggregated_rows = before - len(frame)
        frame[time_column] = grid.times(frame["_position"].to_numpy())
    else:
        duplicated = frame.duplicated(["_series", time_column])
        if duplicated.any():
            row = frame[duplicated].iloc[0]
            raise AutoMLConfigError(
                f"series {_series_name(row['_series'])} has duplicate timestamps "
                f"({row[time_column]}) in time column {time_column!r}; set "
                "time_series_id_column_names if the frame holds several series, or "
                "target_aggregate_function ('sum', 'mean', 'min', 'max') to aggregate them."
            )
        try:
            frame = frame.assign(_position=grid.positions(frame[time_column]))
        except ValueError as exc:
            offending = frame[time_column].iloc[0]
            raise AutoMLConfigError(
                f"time column {time_column!r} is irregular: {exc}"
                f" (frequency {grid.freq!r}; first row {offending}). Set frequency to the "
                "data's own, or target_aggregate_function to aggregate onto the grid."
            ) from None
    frame = frame.sort_values(["_series", "_position"], kind="stable")
    pieces = []
    for key, group in frame.groupby("_series", sort=False):
        pieces.append(_fill_series(group, key, label, time_column, grid, id_columns, repairs))
    return pd.concat(pieces, ignore_index=True), repairs


def _aggregate(
    frame: pd.DataFrame, label: str, function: str, time_column: str, id_columns: list[str]
) -> pd.DataFrame:
    by = ["_series", "_position"]
    others = [c for c in frame.columns if c not in {*by, label, time_column, *id_columns}]
    rules: dict[str, Any] = {label: function}
    for column in [*id_columns, *others]:
        numeric = pd.api.types.is_numeric_dtype(frame[column]) and column not in id_columns
        rules[column] = "mean" if numeric else "last"
    # min_count=1: a period whose target is all missing stays missing (filled later)
    grouped = frame.groupby(by, sort=False)
    out = (
        grouped.agg(rules)
        if function != "sum"
        else grouped.agg({**rules, label: lambda v: v.sum(min_count=1)})
    )
    return out.reset_index()


def _fill_series(
    group: pd.DataFrame,
    key: str,
    label: str,
    time_column: str,
    grid: TimeGrid,
    id_columns: list[str],
    repairs: Repairs,
) -> pd.DataFrame:
    observed = group[label].notna().to_numpy()
    if not observed.any():
        raise AutoMLConfigError(
            f"series {_series_name(key)}: every value of the target column {label!r} is missing."
        )
    first = int(np.argmax(observed))
    if first:
        repairs.dropped_leading_rows += first
        group = group.iloc[first:]
    positions = group["_position"].to_numpy()
    span = int(positions[-1] - positions[0] + 1)
    missing_periods = span - len(group)
    if missing_periods:
        if missing_periods > _MAX_GAP_FRACTION * span:
            raise AutoMLConfigError(
                f"series {_series_name(key)} is irregular: {missing_periods} of its {span} "
                f"{grid.freq!r} periods between {group[time_column].iloc[0]} and "
                f"{group[time_column].iloc[-1]} have no row. Set frequency to the data's own, "
                "or target_aggregate_function to aggregate onto a coarser grid."
            )
        full = np.arange(positions[0], positions[-1] + 1)
        group = group.set_index("_position").reindex(full)
        group.index.name = "_position"
        group = group.reset_index()
        group[time_column] = grid.times(full)
        group["_series"] = key
        for column in id_columns:
            group[column] = group[column].ffill()
        repairs.filled_periods[key] = missing_periods
    n_missing_target = int(group[label].isna().sum())
    if n_missing_target:
        repairs.filled_targets[key] = n_missing_target - missing_periods
    # Forward fill: the last observation carries forward over gaps and missing targets.
    others = [c for c in group.columns if c not in ("_series", "_position", time_column)]
    group[others] = group[others].ffill()
    return group


def _series_name(key: str) -> str:
    return "(the only series)" if key == SINGLE_SERIES else repr(key)
