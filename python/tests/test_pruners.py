"""Pruners from Python: hyperplug.pruners given to create_study, stored with the study, and used
by SearchCV across folds."""

import math

import numpy as np
import pytest

import hyperplug
from hyperplug import TrialState
from hyperplug.pruners import (
    AshaPruner,
    HyperbandPruner,
    MedianPruner,
    NopPruner,
    ParetoPruner,
    PatientPruner,
    PercentilePruner,
    Pruner,
    SuccessiveHalvingPruner,
    ThresholdPruner,
    WilcoxonPruner,
)


def curve(trial):
    """A learning curve whose every step ranks trials as the final value does: x · (step + 1)."""
    x = trial.suggest_float("x", 0, 1)
    for step in range(10):
        trial.report(x * (step + 1), step)
        if trial.should_prune():
            raise hyperplug.TrialPruned()
    return x


def test_a_median_pruner_stops_bad_trials_at_their_first_step():
    study = hyperplug.create_study(
        seed=3, strategy="random", pruner=MedianPruner(n_startup_trials=5)
    )
    study.optimize(curve, n_trials=40)
    pruned = [t for t in study.trials if t.state == TrialState.PRUNED]
    complete = [t for t in study.trials if t.state == TrialState.COMPLETE]
    assert len(pruned) >= 10, [t.state for t in study.trials]
    assert all(t.number >= 5 for t in pruned), "the first five trials are never pruned"
    for t in pruned:
        # Stopped at step 0, worse than the median of the complete trials before it; its value
        # is kept.
        assert t.intermediate_values == {0: pytest.approx(t.params["x"])}
        before = [u.value for u in complete if u.number < t.number]
        assert t.params["x"] > np.median(before)
    for t in complete:
        assert sorted(t.intermediate_values) == list(range(10))
    # The same study without a pruner (or with NopPruner) runs every trial to the end.
    for none in (None, NopPruner()):
        plain = hyperplug.create_study(seed=3, strategy="random", pruner=none)
        plain.optimize(curve, n_trials=40)
        assert all(t.state == TrialState.COMPLETE for t in plain.trials)
        assert plain.pruner is None


def test_every_bundled_pruner_class_names_the_engine_s_pruner():
    for pruner, name in [
        (MedianPruner(n_startup_trials=2), "median"),
        (PercentilePruner(25.0), "percentile"),
        (PatientPruner(MedianPruner(), patience=3), "patient"),
        (PatientPruner(None, patience=3), "patient"),
        (ThresholdPruner(upper=10.0), "threshold"),
        (WilcoxonPruner(p_threshold=0.05), "wilcoxon"),
        (SuccessiveHalvingPruner(max_resource=27), "successive-halving"),
        (AshaPruner(reduction_factor=4), "asha"),
        (HyperbandPruner(max_resource=27), "hyperband"),
        (Pruner("median", n_warmup_steps=2), "median"),
    ]:
        study = hyperplug.create_study(pruner=pruner)
        assert study.pruner == pruner, name
        assert study.pruner.name == name
        study.optimize(curve, n_trials=3)
    # A threshold pruner stops a trial as soon as its value leaves the bounds.
    study = hyperplug.create_study(seed=1, strategy="random", pruner=ThresholdPruner(upper=2.0))
    study.optimize(curve, n_trials=10)
    for t in study.trials:
        crossed = [s for s in range(10) if t.params["x"] * (s + 1) > 2.0]
        if crossed:
            assert t.state == TrialState.PRUNED
            assert t.last_step == crossed[0]
        else:
            assert t.state == TrialState.COMPLETE


def test_a_loaded_study_keeps_its_pruner(sqlite_url):
    pruner = MedianPruner(n_startup_trials=2, n_warmup_steps=1)
    made = hyperplug.create_study(study_name="p", storage=sqlite_url, seed=2, pruner=pruner)
    made.optimize(curve, n_trials=4)
    loaded = hyperplug.load_study(study_name="p", storage=sqlite_url)
    assert loaded.pruner == pruner
    again = hyperplug.create_study(study_name="p", storage=sqlite_url, load_if_exists=True)
    assert again.pruner == pruner
    # It judges: a bad trial is stopped once past the warm-up step, a good one is not.
    bad, good = loaded.ask(), loaded.ask()
    for step in range(3):
        bad.report(100.0, step)
        good.report(0.0, step)
        assert not good.should_prune()
        assert bad.should_prune() == (step >= 1)
    assert loaded.tell(bad, state=TrialState.PRUNED).state == TrialState.PRUNED
    loaded.tell(good, 0.0)
    # Asking for the same pruner again is fine; another one is refused, naming the stored one.
    hyperplug.load_study(study_name="p", storage=sqlite_url, pruner=pruner)
    with pytest.raises(hyperplug.HyperplugError, match="pruner `median`"):
        hyperplug.load_study(study_name="p", storage=sqlite_url, pruner=PercentilePruner(10))


def test_bad_pruner_settings_raise_a_clear_exception_and_leave_no_study(sqlite_url):
    cases = [
        (MedianPruner(n_startup_trials=-1), "n_startup_trials"),
        (PercentilePruner(150), "`percentile` is 150"),
        (SuccessiveHalvingPruner(), "give `max_resource`"),
        (HyperbandPruner(max_resource=27, reduction_factor=1), "`reduction_factor` is 1"),
        (PatientPruner(MedianPruner(), patience=2, min_delta=-1.0), "`min_delta` is -1"),
        (Pruner("median", patience=3), "unknown field `patience`"),
        (Pruner("nope"), "unknown pruner `nope`; available: asha, hyperband, median"),
    ]
    for pruner, message in cases:
        with pytest.raises(hyperplug.HyperplugError, match=message):
            hyperplug.create_study(study_name="s", storage=sqlite_url, pruner=pruner)
    # Nothing was stored: the name is free.
    hyperplug.create_study(study_name="s", storage=sqlite_url)
    with pytest.raises(TypeError, match="hyperplug.pruners"):
        hyperplug.create_study(pruner="median")
    with pytest.raises(ValueError, match="auto"):
        HyperbandPruner(max_resource="auto")
    # Several objectives are judged by the threshold pruner only.
    with pytest.raises(hyperplug.HyperplugError, match="one objective"):
        hyperplug.create_study(directions=["minimize", "minimize"], pruner=MedianPruner())
    hyperplug.create_study(directions=["minimize", "minimize"], pruner=ThresholdPruner(upper=1))


def test_search_cv_with_a_pruner_stops_bad_configurations_after_a_few_folds():
    pytest.importorskip("sklearn")
    from sklearn.datasets import load_digits
    from sklearn.svm import SVC

    from hyperplug.distributions import FloatDistribution
    from hyperplug.sklearn import SearchCV

    X, y = load_digits(return_X_y=True)
    X, y = X[::3] / 16.0, y[::3]
    # Small C or large gamma give a poor SVC; random search tries many of them.
    space = {
        "C": FloatDistribution(1e-4, 1e2, log=True),
        "gamma": FloatDistribution(1e-4, 10.0, log=True),
    }
    search = SearchCV(
        SVC(), space, n_trials=20, cv=4, seed=0, strategy="random",
        pruner=MedianPruner(n_startup_trials=4),
    ).fit(X, y)
    r = search.cv_results_
    states = r["state"]
    assert "PRUNED" in states and "COMPLETE" in states
    for i, state in enumerate(states):
        ran = [not math.isnan(r[f"split{k}_test_score"][i]) for k in range(4)]
        if state == "PRUNED":
            assert ran[-1] is False and ran[0] is True, ran
            assert r["rank_test_score"][i] > states.count("COMPLETE")
        else:
            assert all(ran)
    complete = [r["mean_test_score"][i] for i, s in enumerate(states) if s == "COMPLETE"]
    assert search.best_score_ == pytest.approx(max(complete))
    assert search.best_score_ > 0.9
    assert search.study_.pruner == MedianPruner(n_startup_trials=4)


def test_a_pareto_pruner_stops_dominated_trials_of_a_two_objective_study():
    def two(trial):
        # y only adds to the second objective: a trial with a large y is dominated by those
        # with about its x and a smaller y, at every step.
        x = trial.suggest_float("x", 0, 1)
        y = trial.suggest_float("y", 0, 1)
        for step in range(5):
            trial.report([x * (1 + 1 / (step + 1)), (1 - x + y) * (1 + 1 / (step + 1))], step)
            if trial.should_prune():
                raise hyperplug.TrialPruned()
        return x, 1 - x + y

    study = hyperplug.create_study(
        seed=5,
        strategy="random",
        directions=["minimize", "minimize"],
        pruner=ParetoPruner(fraction=0.25, n_startup_trials=5),
    )
    study.optimize(two, n_trials=40)
    pruned = [t for t in study.trials if t.state == TrialState.PRUNED]
    complete = [t for t in study.trials if t.state == TrialState.COMPLETE]
    assert len(pruned) >= 5, [t.state for t in study.trials]
    assert all(t.number >= 5 for t in pruned)
    mean_y = lambda ts: sum(t.params["y"] for t in ts) / len(ts)  # noqa: E731
    assert mean_y(pruned) > mean_y(complete)
    # A pruner that judges one objective is refused for two.
    with pytest.raises(hyperplug.HyperplugError, match="objective"):
        hyperplug.create_study(directions=["minimize", "minimize"], pruner=MedianPruner())
    # A list reported to a one-objective study is refused with both counts.
    one = hyperplug.create_study(seed=1, strategy="random")
    trial = one.ask()
    trial.suggest_float("x", 0, 1)
    with pytest.raises(hyperplug.HyperplugError, match="2"):
        trial.report([1.0, 2.0], 0)
