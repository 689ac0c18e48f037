"""The featurization of a generated script: ``prepare`` (column coercion) and a
``ColumnTransformer`` in plain scikit-learn, equivalent to :mod:`mlflow_automl.featurize`.

Columns are grouped exactly as :func:`~mlflow_automl.featurize.featurizer.build_featurizer` groups
them, so the engineered features come out in the same order. Our own transformer classes become
their scikit-learn equivalents (``NumericImputer`` -> ``SimpleImputer`` + ``MissingIndicator``,
``NamedTargetEncoder`` -> ``TargetEncoder``, ``TextTfidf`` -> one ``TfidfVectorizer`` per column);
where scikit-learn has none (date parts, feature hashing of single values) a short helper is
written into the script.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mlflow_automl.codegen.layout import Call, layout, listed
from mlflow_automl.codegen.spec import ColumnStep, literal
from mlflow_automl.featurize.featurizer import CATEGORICAL_KINDS

# How each kind's columns reach the ColumnTransformer (as Featurizer._prepare coerces them).
_COERCION = {
    "numeric": "NUMERIC",
    "passthrough": "NUMERIC",
    "onehot": "CATEGORIES",
    "target": "CATEGORIES",
    "hash": "CATEGORIES",
    "text": "TEXT",
    "datetime": "DATES",
    "ordinal": "CATEGORIES",
}
_CATEGORY_CODES = '''

def category_codes(features: np.ndarray, count: int) -> pd.DataFrame:
    """The first ``count`` columns as integers: CatBoost takes categories as int or str."""
    frame = pd.DataFrame(features)
    codes = list(range(count))
    frame[codes] = frame[codes].astype(np.int64)
    return frame
'''

_PREPARE_LOOPS = {
    "NUMERIC": """
    for column in NUMERIC:  # numbers as float, missing as NaN
        values = frame[column]
        if pd.api.types.is_bool_dtype(values.dtype):
            values = values.astype("Float64")
        out[column] = pd.to_numeric(values, errors="coerce").to_numpy(
            dtype=np.float64, na_value=np.nan
        )""",
    "CATEGORIES": """
    for column in CATEGORIES:  # categories as str, missing as NaN
        out[column] = as_strings(frame[column])""",
    "TEXT": """
    for column in TEXT:  # text as str, missing as ""
        out[column] = ["" if pd.isna(value) else str(value) for value in frame[column]]""",
    "DATES": """
    for column in DATES:  # parsed by DateParts below
        values = frame[column]
        is_date = pd.api.types.is_datetime64_any_dtype(values.dtype)
        out[column] = values if is_date else as_strings(values)""",
}

_AS_STRINGS = '''

def as_strings(values: pd.Series) -> pd.Series:
    """Every value as a Python str, missing values as NaN (what the encoders expect)."""
    missing = values.isna().to_numpy()
    text = np.array([str(value) for value in values.astype(object)], dtype=object)
    text[missing] = np.nan
    return pd.Series(text, index=values.index, dtype=object)
'''

_HASH_HELPER = '''

def hash_encode(columns, n_features: int) -> np.ndarray:
    """Each value hashed into ``n_features`` indicator columns per column; missing: all zero."""
    hasher = FeatureHasher(n_features=n_features, input_type="string", alternate_sign=False)
    values = np.asarray(columns, dtype=object)
    blocks = [
        hasher.transform([[] if pd.isna(v) else [str(v)] for v in values[:, i]]).toarray()
        for i in range(values.shape[1])
    ]
    return np.hstack(blocks)
'''

_DATE_HELPER = '''

DATE_PARTS = {
    "year": "year",
    "month": "month",
    "day": "day",
    "dayofweek": "day_of_week",
    "dayofyear": "day_of_year",
    "hour": "hour",
}


def parse_dates(values, dayfirst: bool) -> pd.Series:
    """Naive UTC datetimes; unparseable values become NaT."""
    series = pd.Series(values)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if pd.api.types.is_datetime64_any_dtype(series.dtype):
            parsed = pd.to_datetime(series, utc=True)
        else:
            parsed = pd.to_datetime(series, errors="coerce", utc=True, dayfirst=dayfirst)
            retry = parsed.isna() & series.notna()
            if retry.any():
                parsed[retry] = pd.to_datetime(
                    series[retry], errors="coerce", utc=True, format="mixed", dayfirst=dayfirst
                )
    return parsed.dt.tz_convert(None)


def date_parts(parsed: pd.Series) -> dict:
    return {
        part: getattr(parsed.dt, attribute).to_numpy(dtype=np.float64, na_value=np.nan)
        for part, attribute in DATE_PARTS.items()
    }


class DateParts(TransformerMixin, BaseEstimator):
    """Date columns -> year, month, day, day of week, day of year, hour: the parts that vary in
    the training data; missing parts get the training median. Day-first or not is decided in
    fit, by which reading parses more values."""

    def fit(self, X, y=None):
        self.parts_, self.fills_, self.dayfirst_ = [], [], []
        for i in range(X.shape[1]):
            values = pd.Series(np.asarray(X.iloc[:, i]))
            counts = [
                parse_dates(values, flag).notna().sum() if values.dtype == object else 0
                for flag in (False, True)
            ]
            self.dayfirst_.append(bool(counts[1] > counts[0]))
            kept, fills = [], {}
            for part, arr in date_parts(parse_dates(values, self.dayfirst_[-1])).items():
                observed = arr[~np.isnan(arr)]
                if len(np.unique(observed)) > 1:
                    kept.append(part)
                    fills[part] = float(np.round(np.median(observed)))
            self.parts_.append(kept)
            self.fills_.append(fills)
        return self

    def transform(self, X) -> np.ndarray:
        blocks = []
        for i, (kept, fills) in enumerate(zip(self.parts_, self.fills_)):
            parts = date_parts(parse_dates(np.asarray(X.iloc[:, i]), self.dayfirst_[i]))
            blocks += [np.where(np.isnan(parts[p]), fills[p], parts[p]) for p in kept]
        return np.column_stack(blocks) if blocks else np.zeros((len(X), 0))
'''


@dataclass
class FeaturizationCode:
    """The pieces the templates put together."""

    imports: set[str] = field(default_factory=set)
    constants: str = ""  # NUMERIC = [...] etc.
    helpers: str = ""  # helper functions / classes
    prepare: str = ""  # def prepare(frame)
    transformer: str = ""  # def make_featurizer() and / or def make_coded_featurizer()


def _group(columns: list[ColumnStep]) -> list[list[ColumnStep]]:
    """Columns with the same kind and parameters, in first-seen order (as build_featurizer)."""
    groups: dict[tuple[str, str], list[ColumnStep]] = {}
    for step in columns:
        groups.setdefault((step.kind, repr(sorted(step.params.items()))), []).append(step)
    return list(groups.values())


def _imputer(strategy: str, fill_value: object) -> Call:
    kwargs = {"strategy": literal(strategy)}
    if strategy == "constant":
        kwargs["fill_value"] = literal(fill_value)
    return Call("SimpleImputer", kwargs={**kwargs, "keep_empty_features": "True"})


def _with_imputer(encoder: Call, params: dict, code: FeaturizationCode) -> Call:
    impute = params.get("impute")
    if impute is None:
        return encoder
    code.imports |= {
        "from sklearn.impute import SimpleImputer",
        "from sklearn.pipeline import make_pipeline",
    }
    return Call("make_pipeline", [_imputer(*impute), encoder])


def _entry(name: str, step: Any, columns: Any, comments: str) -> str:
    """One ``(name, transformer, columns)`` item of the ColumnTransformer's list."""
    return comments + " " * 12 + layout(Call("", [literal(name), step, columns]), 12) + ","


def _entries(group: list[ColumnStep], index: int, code: FeaturizationCode) -> list[str]:
    """Source of the ColumnTransformer items for one group, each with its comment lines."""
    first = group[0]
    kind, params = first.kind, first.params
    names = listed([s.column for s in group])
    comments = "".join(f"            # {s.column}: {s.note}\n" for s in group)
    if kind == "passthrough":
        return [_entry(f"passthrough_{index}", literal("passthrough"), names, comments)]
    if kind == "numeric":
        code.imports.add("from sklearn.impute import SimpleImputer")
        step: Any = _imputer(params["strategy"], params.get("fill_value"))
        if params.get("add_indicator"):
            code.imports |= {
                "from sklearn.impute import MissingIndicator",
                "from sklearn.pipeline import make_union",
            }
            indicator = Call("MissingIndicator", kwargs={"features": literal("all")})
            step = Call("make_union", [step, indicator])
        return [_entry(f"numeric_{index}", step, names, comments)]
    if kind == "text":
        code.imports.add("from sklearn.feature_extraction.text import TfidfVectorizer")
        vectorizer = Call(
            "TfidfVectorizer",
            kwargs={
                "max_features": literal(params["max_features"]),
                "ngram_range": literal(tuple(params["ngram_range"])),
                "dtype": "np.float64",
            },
        )
        # One vectorizer per column: a scalar column name hands it the 1-D column of documents.
        return [
            _entry(
                f"text_{index}_{i}",
                vectorizer,
                literal(s.column),
                f"            # {s.column}: {s.note}\n",
            )
            for i, s in enumerate(group)
        ]
    if kind == "datetime":
        code.helpers += _DATE_HELPER
        code.imports |= {
            "import warnings",
            "from sklearn.base import BaseEstimator, TransformerMixin",
        }
        return [_entry(f"datetime_{index}", Call("DateParts"), names, comments)]
    if kind == "ordinal":  # missing is a category of its own, as CatBoost treats it
        code.imports.add("from sklearn.preprocessing import OrdinalEncoder")
        encoder = Call(
            "OrdinalEncoder",
            kwargs={
                "handle_unknown": literal("use_encoded_value"),
                "unknown_value": "-1",
                "encoded_missing_value": "-2",
                "dtype": "np.float64",
            },
        )
        return [_entry(f"{kind}_{index}", encoder, names, comments)]
    if kind == "onehot":
        code.imports.add("from sklearn.preprocessing import OneHotEncoder")
        encoder = Call(
            "OneHotEncoder",
            kwargs={
                "handle_unknown": literal("infrequent_if_exist"),
                "min_frequency": literal(params["min_frequency"]),
                "sparse_output": "False",
                "dtype": "np.float64",
            },
        )
    elif kind == "target":
        splitter = "KFold" if params["target_type"] == "continuous" else "StratifiedKFold"
        code.imports |= {
            "from sklearn.preprocessing import TargetEncoder",
            f"from sklearn.model_selection import {splitter}",
        }
        # Seeded shuffled folds for the encoder's internal cross fitting.
        folds = Call(splitter, kwargs={"n_splits": "5", "shuffle": "True", "random_state": "0"})
        encoder = Call(
            "TargetEncoder", kwargs={"target_type": literal(params["target_type"]), "cv": folds}
        )
    elif kind == "hash":
        code.helpers += _HASH_HELPER
        code.imports |= {
            "from sklearn.feature_extraction import FeatureHasher",
            "from sklearn.preprocessing import FunctionTransformer",
        }
        n_features = 2 ** params["number_of_bits"]
        encoder = Call(
            "FunctionTransformer",
            ["hash_encode"],
            {"kw_args": f'{{"n_features": {n_features}}}'},
        )
    else:
        raise ValueError(f"no code generation for featurization kind {kind!r}")
    step = _with_imputer(encoder, params, code)
    return [_entry(f"{kind}_{index}", step, names, comments)]


def coded_columns(columns: list[ColumnStep]) -> list[ColumnStep]:
    """The columns as a learner reading categories itself gets them: every categorical column
    as integer codes, first (as ``build_featurizer(native_categoricals=True)``)."""
    codes = [
        ColumnStep(s.column, "ordinal", {}, s.coded_note or "category codes")
        for s in columns
        if s.kind in CATEGORICAL_KINDS
    ]
    return codes + [s for s in columns if s.kind not in CATEGORICAL_KINDS]


def _column_transformer(columns: list[ColumnStep], code: FeaturizationCode) -> str:
    entries = [line for i, group in enumerate(_group(columns)) for line in _entries(group, i, code)]
    body = "\n".join(entries)
    return (
        "ColumnTransformer(\n"
        f"        [\n{body}\n        ],\n"
        '        remainder="drop",\n'
        "        sparse_threshold=0,\n"
        "    )"
    )


def featurization_code(
    columns: list[ColumnStep], encoded: bool = True, coded: bool = False
) -> FeaturizationCode:
    """``prepare``, and ``make_featurizer`` for the planned columns (``encoded``) and / or
    ``make_coded_featurizer`` with the categorical columns as codes (``coded``: CatBoost)."""
    code = FeaturizationCode(
        imports={
            "from sklearn.compose import ColumnTransformer",
            "from sklearn.preprocessing import FunctionTransformer",
        }
    )
    lists: dict[str, list[str]] = {}
    for step in columns:
        lists.setdefault(_COERCION[step.kind], []).append(step.column)
    code.constants = "\n".join(
        f"{name} = {layout(listed(names), 0, len(name) + 3)}" for name, names in lists.items()
    )
    if "CATEGORIES" in lists or "DATES" in lists:
        code.helpers += _AS_STRINGS
    loops = "".join(_PREPARE_LOOPS[name] for name in lists)
    code.prepare = (
        "\n\ndef prepare(frame: pd.DataFrame) -> pd.DataFrame:\n"
        '    """The columns the model uses, in the types the transformers below expect."""\n'
        f"    out = pd.DataFrame(index=frame.index){loops}\n"
        "    return out\n"
    )
    if encoded:
        code.transformer += (
            "\n\ndef make_featurizer() -> ColumnTransformer:\n"
            '    """One transformer per group of columns; dense float output."""\n'
            f"    return {_column_transformer(columns, code)}\n"
        )
    coded_steps = coded_columns(columns)
    count = sum(step.kind == "ordinal" for step in coded_steps)
    if coded and count:
        code.helpers += _CATEGORY_CODES
        code.imports.add("from sklearn.pipeline import make_pipeline")
        code.transformer += (
            "\n\ndef make_coded_featurizer() -> Pipeline:\n"
            '    """The categorical columns as integer codes, first; the others as planned."""\n'
            f"    featurizer = {_column_transformer(coded_steps, code)}\n"
            "    codes = FunctionTransformer(category_codes, kw_args={"
            f'"count": {count}}})\n'
            "    return make_pipeline(featurizer, codes)\n"
        )
    return code
