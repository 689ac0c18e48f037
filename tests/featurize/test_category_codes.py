"""Categorical columns as integer codes, for a learner that reads categories itself (CatBoost):
codes first, one column each, stable between fit and predict, unseen and missing kept apart."""

from __future__ import annotations

import numpy as np
import pytest

from mlflow_automl.featurize import plan_featurization
from mlflow_automl.featurize.featurizer import MISSING_CODE, UNSEEN_CODE


@pytest.fixture(scope="module")
def plan(penguins):
    return plan_featurization(penguins.drop(columns="body_mass_g"), "auto", "regression")


def test_codes_come_first_one_column_per_categorical_column(plan, penguins):
    X = penguins.drop(columns="body_mass_g")
    assert plan.categorical_code_count() == 3  # species, island, sex
    featurizer = plan.make_transformer(native_categoricals=True)
    out = featurizer.fit_transform(X, penguins["body_mass_g"])
    names = list(featurizer.get_feature_names_out())
    assert names[:3] == ["species", "island", "sex"]
    assert featurizer.feature_sources()[:3] == ["species", "island", "sex"]
    codes = out[:, :3]
    assert np.array_equal(codes, np.round(codes))  # whole numbers, as CatBoost needs
    assert len(np.unique(codes[:, 1])) == X["island"].nunique()
    # The other columns are featurized as planned, in the plan's order.
    planned = plan.make_transformer().fit(X, penguins["body_mass_g"])
    sources = planned.feature_sources()
    others = [n for n, s in zip(planned.get_feature_names_out(), sources) if s not in names[:3]]
    assert names[3:] == others
    np.testing.assert_array_equal(
        out[:, 3:], planned.transform(X)[:, [s not in names[:3] for s in sources]]
    )


def test_missing_and_unseen_categories_get_codes_of_their_own(plan, penguins):
    X = penguins.drop(columns="body_mass_g")
    assert X["sex"].isna().any()
    featurizer = plan.make_transformer(native_categoricals=True).fit(X, penguins["body_mass_g"])
    sex = featurizer.transform(X)[:, 2]
    assert set(sex[X["sex"].isna().to_numpy()]) == {MISSING_CODE}
    assert MISSING_CODE not in set(sex[X["sex"].notna().to_numpy()])
    new = X.head(2).assign(island=["Atlantis", "Biscoe"])
    island = featurizer.transform(new)[:, 1]
    assert island[0] == UNSEEN_CODE and island[1] >= 0
    # Same rows, same codes: fitted once, not per call.
    np.testing.assert_array_equal(featurizer.transform(X.iloc[::-1])[::-1], featurizer.transform(X))


def test_a_plan_without_codes_keeps_its_encodings(plan, penguins):
    X = penguins.drop(columns="body_mass_g")
    off = plan_featurization(X, "auto", "regression")
    off.native_categoricals = False  # enable_onnx_compatible_models=True
    assert off.categorical_code_count() == 0
    a = off.make_transformer(native_categoricals=True).fit_transform(X, penguins["body_mass_g"])
    b = plan.make_transformer().fit_transform(X, penguins["body_mass_g"])
    np.testing.assert_array_equal(a, b)
    numeric = plan_featurization(X.select_dtypes("number"), "auto", "regression")
    assert numeric.categorical_code_count() == 0
