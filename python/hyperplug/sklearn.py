"""A scikit-learn search estimator: :class:`SearchCV`, a drop-in for GridSearchCV and
RandomizedSearchCV whose configurations a hyperplug strategy chooses (TPE by default).

After each fold the mean score of the folds so far is reported to the trial as an intermediate
value (step = fold index), so a pruner (``pruner=hyperplug.pruners.MedianPruner()``) can stop a
bad configuration after a few folds::

    from hyperplug.distributions import FloatDistribution
    from hyperplug.sklearn import SearchCV

    search = SearchCV(SVC(), {"C": FloatDistribution(1e-3, 1e3, log=True)}, n_trials=40, cv=5)
    search.fit(X, y)
    search.best_params_, search.best_score_, search.best_estimator_
"""

from __future__ import annotations

import time
import warnings
from typing import Any, Dict, List, Mapping, Optional

import numpy as np
from sklearn.base import BaseEstimator, MetaEstimatorMixin, clone, is_classifier
from sklearn.metrics import check_scoring
from sklearn.model_selection import check_cv
from sklearn.utils.metaestimators import _safe_split, available_if
from sklearn.utils.validation import check_is_fitted, indexable

import hyperplug
from hyperplug.distributions import as_distribution
from hyperplug.exceptions import TrialPruned


def tpe_startup(n_trials: Optional[int]) -> int:
    """SearchCV's default random start for TPE: a fifth of the budget, from 2 to TPE's own 10.

    Chosen on development data sets (breast_cancer, wine, a synthetic one; an RBF SVC, 25
    configurations, seeds 0..4), where 5 random configurations of 25 met or beat both
    GridSearchCV and OptunaSearchCV more often than TPE's 10 (docs/BENCHMARKS.md, "SearchCV")."""
    if n_trials is None:
        return 10
    return max(2, min(10, n_trials // 5))


def _refitted(method: str):
    def check(self: "SearchCV") -> bool:
        if not self.refit:
            raise AttributeError(
                f"this SearchCV was made with refit=False, so it has no `{method}`; "
                "use refit=True or fit best_params_ yourself"
            )
        check_is_fitted(self, "best_estimator_")
        return hasattr(self.best_estimator_, method)

    return check


class SearchCV(MetaEstimatorMixin, BaseEstimator):
    """Searches ``space`` for the parameters of ``estimator`` with the best cross-validated score.

    Parameters follow GridSearchCV's where they exist (``cv``, ``scoring``, ``refit``,
    ``error_score``, ``return_train_score``); ``space`` maps parameter names to
    :mod:`hyperplug.distributions` (a list is a set of choices), and ``strategy``, ``settings``,
    ``seed``, ``pruner``, ``n_trials``, ``timeout``, ``storage`` and ``study_name`` go to the
    study. The default strategy is TPE whose first ``n_trials // 5`` configurations (2 to 10)
    are random, unless ``settings`` say otherwise (:func:`tpe_startup`). With a ``pruner`` (one of :mod:`hyperplug.pruners`), a configuration whose running
    mean over the folds so far the pruner judges bad is stopped before its other folds: it is
    ranked after the complete ones in ``cv_results_``, its missing folds NaN.

    After ``fit``: ``best_params_``, ``best_score_``, ``best_index_``, ``best_estimator_`` (with
    ``refit``), ``cv_results_`` (one row per trial, GridSearchCV's keys), ``n_splits_``,
    ``refit_time_``, ``scorer_``, ``study_`` and ``trials_``.
    """

    def __init__(
        self,
        estimator: Any,
        space: Mapping[str, Any],
        *,
        n_trials: int = 10,
        cv: Any = None,
        scoring: Any = None,
        strategy: str = "tpe",
        settings: Optional[Mapping[str, Any]] = None,
        seed: Optional[int] = None,
        pruner: Optional[Any] = None,
        refit: bool = True,
        n_jobs: int = 1,
        timeout: Optional[float] = None,
        error_score: Any = np.nan,
        return_train_score: bool = False,
        storage: Optional[str] = None,
        study_name: Optional[str] = None,
        verbose: int = 0,
    ) -> None:
        self.estimator = estimator
        self.space = space
        self.n_trials = n_trials
        self.cv = cv
        self.scoring = scoring
        self.strategy = strategy
        self.settings = settings
        self.seed = seed
        self.pruner = pruner
        self.refit = refit
        self.n_jobs = n_jobs
        self.timeout = timeout
        self.error_score = error_score
        self.return_train_score = return_train_score
        self.storage = storage
        self.study_name = study_name
        self.verbose = verbose

    def _objective(self, X, y, groups, fit_params, cv, scorer, space):
        splits = list(cv.split(X, y, groups))

        def objective(trial: hyperplug.Trial) -> float:
            params = {name: d.suggest(trial, name) for name, d in space.items()}
            test_scores: List[float] = []
            train_scores: List[float] = []
            fit_times: List[float] = []
            score_times: List[float] = []
            for i, (train, test) in enumerate(splits):
                est = clone(self.estimator).set_params(**params)
                X_train, y_train = _safe_split(est, X, y, train)
                X_test, y_test = _safe_split(est, X, y, test, train)
                start = time.perf_counter()
                try:
                    est.fit(X_train, y_train, **fit_params)
                except Exception as e:
                    if isinstance(self.error_score, str) and self.error_score == "raise":
                        raise
                    warnings.warn(
                        f"fitting failed with {params} on fold {i}: {type(e).__name__}: {e}; "
                        f"its score is error_score={self.error_score}",
                        RuntimeWarning,
                    )
                    fit_times.append(time.perf_counter() - start)
                    score_times.append(0.0)
                    test_scores.append(float(self.error_score))
                    train_scores.append(float(self.error_score))
                    continue
                fit_times.append(time.perf_counter() - start)
                start = time.perf_counter()
                test_scores.append(float(scorer(est, X_test, y_test)))
                score_times.append(time.perf_counter() - start)
                if self.return_train_score:
                    train_scores.append(float(scorer(est, X_train, y_train)))
                trial.set_user_attr(f"split{i}_test_score", test_scores[-1])
                trial.set_user_attr(f"split{i}_fit_time", fit_times[-1])
                trial.set_user_attr(f"split{i}_score_time", score_times[-1])
                if self.return_train_score:
                    trial.set_user_attr(f"split{i}_train_score", train_scores[-1])
                trial.report(float(np.mean(test_scores)), i)
                if i + 1 < len(splits) and trial.should_prune():
                    raise TrialPruned(f"pruned after {i + 1} of {len(splits)} folds")
            return float(np.mean(test_scores))

        return objective

    def _study(self) -> "hyperplug.Study":
        """The study: a stored one continued (``storage`` and ``study_name``), else a new one,
        TPE with a budget-sized random start unless ``settings`` are given."""
        stored = self.storage is not None and self.study_name is not None
        settings = self.settings
        if settings is None and self.strategy == "tpe":
            if stored:
                # A stored study continues with the settings it was made with.
                try:
                    return hyperplug.load_study(
                        study_name=self.study_name,
                        storage=self.storage,
                        strategy=self.strategy,
                        seed=self.seed,
                        pruner=self.pruner,
                    )
                except hyperplug.StorageError:
                    pass  # none yet: created below
            settings = {"startup": tpe_startup(self.n_trials)}
        return hyperplug.create_study(
            direction="maximize",
            strategy=self.strategy,
            settings=settings,
            seed=self.seed,
            pruner=self.pruner,
            storage=self.storage,
            study_name=self.study_name,
            load_if_exists=stored,
        )

    def fit(self, X, y=None, groups=None, **fit_params) -> "SearchCV":
        """Runs the search on ``X``, ``y``; then refits the best configuration on all of it."""
        X, y, groups = indexable(X, y, groups)
        cv = check_cv(self.cv, y, classifier=is_classifier(self.estimator))
        if callable(self.scoring) or self.scoring is None or isinstance(self.scoring, str):
            scorer = check_scoring(self.estimator, scoring=self.scoring)
        else:
            raise ValueError(
                "SearchCV optimizes one score: give `scoring` as one name or one callable"
            )
        space = {name: as_distribution(name, spec) for name, spec in self.space.items()}
        n_splits = cv.get_n_splits(X, y, groups)
        study = self._study()
        objective = self._objective(X, y, groups, fit_params, cv, scorer, space)
        study.optimize(
            objective, n_trials=self.n_trials, timeout=self.timeout, n_jobs=self.n_jobs
        )
        trials = [t for t in study.trials if t.state.is_finished()]
        complete = [t for t in trials if t.state == hyperplug.TrialState.COMPLETE]
        if not complete:
            messages = {t.message for t in trials if t.message}
            raise ValueError(
                f"none of the {len(trials)} trials completed, so there is no best configuration; "
                f"they ended with: {'; '.join(sorted(messages)) or 'no message'}"
            )
        self.study_ = study
        self.trials_ = trials
        self.scorer_ = scorer
        self.n_splits_ = n_splits
        self.cv_results_ = self._results(trials, space, n_splits)
        best = study.best_trial
        self.best_index_ = next(i for i, t in enumerate(trials) if t.number == best.number)
        self.best_score_ = float(best.value)
        self.best_params_ = {
            name: d.decode(best.params[name]) for name, d in space.items() if name in best.params
        }
        if self.refit:
            self.best_estimator_ = clone(self.estimator).set_params(**self.best_params_)
            start = time.perf_counter()
            if y is None:
                self.best_estimator_.fit(X, **fit_params)
            else:
                self.best_estimator_.fit(X, y, **fit_params)
            self.refit_time_ = time.perf_counter() - start
        if self.refit and hasattr(self.best_estimator_, "classes_"):
            self.classes_ = self.best_estimator_.classes_
        return self

    def _results(self, trials, space, n_splits) -> Dict[str, Any]:
        n = len(trials)
        results: Dict[str, Any] = {}

        def column(key: str) -> np.ndarray:
            return np.array(
                [t.user_attrs.get(key, np.nan) for t in trials], dtype=float
            )

        splits = np.column_stack([column(f"split{i}_test_score") for i in range(n_splits)])
        fit = np.column_stack([column(f"split{i}_fit_time") for i in range(n_splits)])
        score = np.column_stack([column(f"split{i}_score_time") for i in range(n_splits)])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows of failed trials
            results["mean_fit_time"] = np.nanmean(fit, axis=1)
            results["std_fit_time"] = np.nanstd(fit, axis=1)
            results["mean_score_time"] = np.nanmean(score, axis=1)
            results["std_score_time"] = np.nanstd(score, axis=1)
            for name, d in space.items():
                values = np.ma.masked_all(n, dtype=object)
                for k, t in enumerate(trials):
                    if name in t.params:
                        values[k] = d.decode(t.params[name])
                results[f"param_{name}"] = values
            results["params"] = [
                {name: d.decode(t.params[name]) for name, d in space.items() if name in t.params}
                for t in trials
            ]
            for i in range(n_splits):
                results[f"split{i}_test_score"] = splits[:, i]
            # A pruned trial's folds that did not run are NaN; its mean is over those that did.
            mean = np.nanmean(splits, axis=1)
            results["mean_test_score"] = mean
            results["std_test_score"] = np.nanstd(splits, axis=1)
            if self.return_train_score:
                train = np.column_stack(
                    [column(f"split{i}_train_score") for i in range(n_splits)]
                )
                for i in range(n_splits):
                    results[f"split{i}_train_score"] = train[:, i]
                results["mean_train_score"] = np.nanmean(train, axis=1)
                results["std_train_score"] = np.nanstd(train, axis=1)
        # Complete trials rank by mean score; pruned and failed ones after them.
        complete = np.array([t.state == hyperplug.TrialState.COMPLETE for t in trials])
        key = np.where(complete & ~np.isnan(mean), mean, -np.inf)
        order = np.argsort(-key, kind="stable")
        rank = np.empty(n, dtype=np.int32)
        rank[order] = np.arange(1, n + 1)
        results["rank_test_score"] = rank
        results["state"] = [t.state.name for t in trials]
        results["number"] = [t.number for t in trials]
        return results

    @available_if(_refitted("predict"))
    def predict(self, X):
        """The best estimator's predictions."""
        return self.best_estimator_.predict(X)

    @available_if(_refitted("predict_proba"))
    def predict_proba(self, X):
        """The best estimator's class probabilities."""
        return self.best_estimator_.predict_proba(X)

    @available_if(_refitted("predict_log_proba"))
    def predict_log_proba(self, X):
        """The best estimator's log class probabilities."""
        return self.best_estimator_.predict_log_proba(X)

    @available_if(_refitted("decision_function"))
    def decision_function(self, X):
        """The best estimator's decision function."""
        return self.best_estimator_.decision_function(X)

    @available_if(_refitted("transform"))
    def transform(self, X):
        """The best estimator's transform."""
        return self.best_estimator_.transform(X)

    @available_if(_refitted("inverse_transform"))
    def inverse_transform(self, X):
        """The best estimator's inverse transform."""
        return self.best_estimator_.inverse_transform(X)

    def score(self, X, y=None) -> float:
        """The search's scorer applied to the best estimator on ``X``, ``y``."""
        check_is_fitted(self, "best_estimator_")
        return float(self.scorer_(self.best_estimator_, X, y))

    @property
    def n_features_in_(self) -> int:
        check_is_fitted(self, "best_estimator_")
        return self.best_estimator_.n_features_in_
