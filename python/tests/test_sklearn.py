"""SearchCV end to end on a real data set, beside scikit-learn's own search."""

import numpy as np
import pytest

pytest.importorskip("sklearn")

from sklearn.datasets import load_digits  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402
from sklearn.svm import SVC  # noqa: E402

import hyperplug  # noqa: E402
from hyperplug.distributions import FloatDistribution  # noqa: E402
from hyperplug.sklearn import SearchCV  # noqa: E402


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    # Every third image: a real problem that fits in a few seconds.
    return X[::3] / 16.0, y[::3]


SPACE = {
    "C": FloatDistribution(1e-2, 1e3, log=True),
    "gamma": FloatDistribution(1e-4, 1.0, log=True),
}


def test_search_cv_finds_a_good_svc_and_refits_it(digits):
    X, y = digits
    search = SearchCV(SVC(), SPACE, n_trials=12, cv=3, seed=0)
    search.fit(X, y)
    r = search.cv_results_
    assert len(r["params"]) == 12
    for key in ("mean_test_score", "std_test_score", "rank_test_score", "param_C",
                "split0_test_score", "split2_test_score", "mean_fit_time"):
        assert len(r[key]) == 12, key
    best = search.best_index_
    assert r["rank_test_score"][best] == 1
    assert search.best_score_ == pytest.approx(r["mean_test_score"][best])
    assert search.best_score_ == pytest.approx(np.max(r["mean_test_score"]))
    assert search.best_params_ == r["params"][best]
    assert search.best_score_ > 0.9
    # Each fold's score was reported to the trial as it came.
    trial = search.trials_[best]
    assert sorted(trial.intermediate_values) == [0, 1, 2]
    assert trial.intermediate_values[2] == pytest.approx(search.best_score_)
    assert search.best_estimator_.C == search.best_params_["C"]
    assert search.score(X, y) == pytest.approx(np.mean(search.predict(X) == y))
    assert list(search.classes_) == list(range(10))


def test_search_cv_is_at_least_as_good_as_a_grid_of_the_same_size(digits):
    X, y = digits
    grid = GridSearchCV(
        SVC(), {"C": [0.1, 1, 10, 100], "gamma": [1e-3, 1e-2, 1e-1, 1]}, cv=3
    ).fit(X, y)
    search = SearchCV(SVC(), SPACE, n_trials=16, cv=3, seed=1).fit(X, y)
    assert search.best_score_ >= grid.best_score_ - 0.01


def test_refit_false_and_failures(digits):
    X, y = digits
    search = SearchCV(
        LogisticRegression(max_iter=200),
        {"C": FloatDistribution(1e-3, 10, log=True), "fit_intercept": [True, False]},
        n_trials=4, cv=2, refit=False, seed=2,
    ).fit(X, y)
    assert set(search.best_params_) == {"C", "fit_intercept"}
    with pytest.raises(AttributeError, match="predict"):
        search.predict(X)
    bad = SearchCV(SVC(), {"C": FloatDistribution(-2, -1)}, n_trials=2, cv=2,
                   error_score="raise")
    with pytest.raises(Exception):
        bad.fit(X, y)
    with pytest.raises(TypeError, match="use FloatDistribution"):
        SearchCV(SVC(), {"C": 3.0}, n_trials=1).fit(X, y)


def test_search_cv_runs_on_threads_and_in_a_store(digits, sqlite_url):
    X, y = digits
    search = SearchCV(SVC(), SPACE, n_trials=6, cv=2, n_jobs=3, seed=4,
                      storage=sqlite_url, study_name="svc").fit(X, y)
    assert len(search.cv_results_["params"]) == 6
    again = hyperplug.load_study(study_name="svc", storage=sqlite_url)
    assert again.best_value == pytest.approx(search.best_score_)
    # Fitted again, it continues the stored study (its default TPE settings included).
    more = SearchCV(SVC(), SPACE, n_trials=4, cv=2, seed=4, storage=sqlite_url,
                    study_name="svc").fit(X, y)
    assert len(more.cv_results_["params"]) == 10


def test_the_default_tpe_starts_with_a_fifth_of_the_budget_at_random(digits):
    from hyperplug.sklearn import tpe_startup

    assert [tpe_startup(n) for n in (None, 4, 12, 25, 40, 200)] == [10, 2, 2, 5, 8, 10]
    X, y = digits
    default = SearchCV(SVC(), SPACE, n_trials=12, cv=2, seed=3).fit(X, y)
    explicit = SearchCV(SVC(), SPACE, n_trials=12, cv=2, seed=3, settings={"startup": 2}).fit(X, y)
    tpe10 = SearchCV(SVC(), SPACE, n_trials=12, cv=2, seed=3, settings={"startup": 10}).fit(X, y)
    assert default.cv_results_["params"] == explicit.cv_results_["params"]
    assert default.cv_results_["params"] != tpe10.cv_results_["params"]
