"""The Optuna-shaped API in memory: define-by-run, ask/tell, results, errors, threads."""

import math
import os
import random
import signal
import subprocess
import sys
import threading
import time

import pytest

import hyperplug
from hyperplug import TrialState


def conditional(trial):
    x = trial.suggest_float("x", -10, 10)
    kind = trial.suggest_categorical("kind", ["linear", "square"])
    if kind == "square":
        scale = trial.suggest_int("scale", 1, 8, log=True)
        return (x - 2) ** 2 * scale
    offset = trial.suggest_float("offset", 0.0, 1.0, step=0.25)
    return abs(x - 2) + offset


def test_define_by_run_learns_the_space_and_records_only_the_suggested_parameters():
    study = hyperplug.create_study(seed=3)
    study.optimize(conditional, n_trials=60)
    trials = study.trials
    assert [t.number for t in trials] == list(range(60))
    assert all(t.state == TrialState.COMPLETE for t in trials)
    names = {p["name"]: p for p in study.space}
    assert set(names) == {"x", "kind", "scale", "offset"}
    assert names["scale"] == {
        "name": "scale", "type": "int", "low": 1, "high": 8, "log": True, "step": 1,
    }
    for t in trials:
        if t.params["kind"] == "square":
            assert set(t.params) == {"x", "kind", "scale"}
            assert t.value == pytest.approx((t.params["x"] - 2) ** 2 * t.params["scale"])
        else:
            assert set(t.params) == {"x", "kind", "offset"}
            assert t.params["offset"] in (0.0, 0.25, 0.5, 0.75, 1.0)
        assert isinstance(t.params["x"], float) and -10 <= t.params["x"] <= 10
    best = study.best_trial
    assert best.value == min(t.value for t in trials)
    assert study.best_value == best.value and study.best_params == best.params
    # TPE learns: the second half is better than the first on average.
    first = sum(t.value for t in trials[:20]) / 20
    last = sum(t.value for t in trials[40:]) / 20
    assert last < first


def test_a_seed_reproduces_the_trials():
    def run(seed):
        s = hyperplug.create_study(seed=seed, strategy="tpe")
        s.optimize(conditional, n_trials=30)
        return [(t.params, t.value) for t in s.trials]

    assert run(11) == run(11)
    assert run(11) != run(12)


def test_several_threads_give_the_same_set_of_trials_as_one_with_a_seeded_random_strategy():
    def objective(trial):
        x = trial.suggest_float("x", -10, 10)
        n = trial.suggest_int("n", 1, 100, log=True)
        kind = trial.suggest_categorical("kind", ["a", "b", "c"])
        return x * x + n + len(kind)

    def run(n_jobs):
        s = hyperplug.create_study(seed=5, strategy="random")
        # Once the space is known, a strategy whose suggestions depend only on the seed and the
        # trial's number gives each number the same parameters whatever thread asks for it.
        s.optimize(objective, n_trials=1)
        s.optimize(objective, n_trials=39, n_jobs=n_jobs)
        return sorted((t.number, tuple(sorted(t.params.items())), t.value) for t in s.trials)

    one = run(1)
    assert len(one) == 40
    assert run(4) == one


def _jittered_conditional(trial):
    # Sleeps a random while (not seeded) so that the threads finish in a different order each run.
    time.sleep(random.random() * 0.01)
    kind = trial.suggest_categorical("kind", ["quad", "abs"])
    x = trial.suggest_float("x", -5, 5)
    if kind == "quad":
        return x * x + trial.suggest_float("c", 0, 1)
    return abs(x) + trial.suggest_int("k", 0, 3)


@pytest.mark.parametrize("strategy", ["tpe", "gp", "cmaes", "random", "evolution"])
def test_a_seeded_study_on_four_threads_repeats_its_trials(strategy):
    def run(**kw):
        s = hyperplug.create_study(seed=7, strategy=strategy)
        s.optimize(_jittered_conditional, n_trials=30, n_jobs=4, **kw)
        assert [t.number for t in s.trials] == list(range(30))
        assert all(t.state == TrialState.COMPLETE for t in s.trials)
        return sorted((tuple(sorted(t.params.items())), t.value) for t in s.trials)

    # Asked and told in trial-number order, the strategy sees the same history at every ask.
    first = run()
    assert run() == first
    assert run(in_order=True) == first


def test_in_order_threads_still_overlap_and_raise_the_objective_s_error():
    barrier = threading.Barrier(3, timeout=30)

    def objective(trial):
        x = trial.suggest_float("x", 0, 1)
        if trial.number < 3:
            barrier.wait()  # three trials run at once
        if trial.number == 7:
            raise KeyError("boom")
        return x

    study = hyperplug.create_study(seed=1)
    with pytest.raises(KeyError, match="boom"):
        study.optimize(objective, n_trials=20, n_jobs=3)
    states = {t.number: t.state for t in study.trials}
    assert states[7] == TrialState.FAIL
    assert TrialState.RUNNING not in states.values(), "every asked trial is told"
    assert len(states) < 20


def test_threads_run_objectives_at_once():
    # Four objectives meet at a barrier: only possible if ask/tell let the other threads run.
    barrier = threading.Barrier(4, timeout=30)
    seen = []

    def objective(trial):
        x = trial.suggest_float("x", 0, 1)
        if trial.number < 4:
            barrier.wait()
        seen.append(threading.get_ident())
        return x

    study = hyperplug.create_study(seed=1)
    study.optimize(objective, n_trials=12, n_jobs=4)
    assert len(study.trials) == 12
    assert len(set(seen)) == 4


def test_ask_and_tell_by_hand():
    study = hyperplug.create_study(direction="maximize", seed=2)
    study.enqueue_trial({"x": 0.25, "new": "b"})
    t = study.ask()
    assert t.suggest_float("x", 0, 1) == 0.25
    assert t.suggest_categorical("new", ["a", "b"]) == "b"
    # Only the parameters the code suggests are fixed by the queue; others are drawn.
    y = t.suggest_int("y", 0, 10)
    assert 0 <= y <= 10
    assert t.suggest_float("x", 0, 1) == 0.25, "a name suggested again keeps its value"
    t.set_user_attr("note", "warm start")
    frozen = study.tell(t, 1.5)
    assert frozen.state == TrialState.COMPLETE and frozen.value == 1.5
    assert frozen.params == {"x": 0.25, "new": "b", "y": y}
    assert frozen.user_attrs == {"note": "warm start"}
    with pytest.raises(hyperplug.TrialNotRunningError, match="already finished"):
        study.tell(t, 2.0)

    a, b = study.ask(), study.ask()
    assert (a.number, b.number) == (1, 2)
    a.suggest_float("x", 0, 1)
    b.report(0.5, 1)
    b.report(0.7, 2)
    assert b.should_prune() is False  # TPE does not prune
    assert study.tell(b, state=TrialState.PRUNED).state == TrialState.PRUNED
    assert study.tell(a, state=TrialState.FAIL).state == TrialState.FAIL
    c = study.ask()
    assert study.tell(c.number, float("nan")).state == TrialState.FAIL, "by number too"
    with pytest.raises(TypeError, match="or its number"):
        study.tell(c.number, 1.0)
    states = {t.number: t.state for t in study.trials}
    assert states == {
        0: TrialState.COMPLETE, 1: TrialState.FAIL, 2: TrialState.PRUNED, 3: TrialState.FAIL,
    }
    assert study.trials[2].intermediate_values == {1: 0.5, 2: 0.7}
    assert study.best_trial.number == 0


def test_an_exception_fails_its_trial_and_is_raised_unless_caught():
    calls = []

    def objective(trial):
        x = trial.suggest_float("x", 0, 1)
        calls.append(trial.number)
        if trial.number % 2 == 1:
            raise ValueError(f"odd trial {trial.number}")
        return x

    study = hyperplug.create_study(seed=1)
    with pytest.raises(ValueError, match="odd trial 1"):
        study.optimize(objective, n_trials=10)
    assert calls == [0, 1], "the run stopped at the exception"
    failed = study.trials[1]
    assert failed.state == TrialState.FAIL
    assert failed.message == "ValueError: odd trial 1"

    study.optimize(objective, n_trials=6, catch=(ValueError,))
    assert len(study.trials) == 8
    assert [t.state for t in study.trials[2:]] == [TrialState.COMPLETE, TrialState.FAIL] * 3
    with pytest.raises(KeyError):
        study.optimize(lambda t: {}["missing"], n_trials=3, catch=(ValueError,))


def test_pruning_through_report_should_prune_and_trial_pruned():
    def objective(trial):
        lr = trial.suggest_float("lr", 1e-4, 1e-1, log=True)
        loss = 1.0
        for epoch in range(5):
            loss *= 1 - lr
            trial.report(loss, epoch)
            if trial.should_prune() or (epoch == 2 and lr < 1e-2):
                raise hyperplug.TrialPruned(f"slow learner at epoch {epoch}")
        return loss

    study = hyperplug.create_study(seed=4)
    study.optimize(objective, n_trials=20)
    pruned = [t for t in study.trials if t.state == TrialState.PRUNED]
    complete = [t for t in study.trials if t.state == TrialState.COMPLETE]
    assert pruned and complete
    for t in pruned:
        assert t.params["lr"] < 1e-2
        assert sorted(t.intermediate_values) == [0, 1, 2]
    for t in complete:
        assert sorted(t.intermediate_values) == [0, 1, 2, 3, 4]
        assert t.value == pytest.approx(t.intermediate_values[4])


def test_a_conflicting_distribution_is_refused_by_name():
    study = hyperplug.create_study(seed=1)
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
    with pytest.raises(hyperplug.SpaceError, match=r"`x` is float \[0, 1\].*int \[0, 5\]"):
        study.optimize(lambda t: t.suggest_int("x", 0, 5), n_trials=1)
    assert study.trials[-1].state == TrialState.FAIL
    with pytest.raises(hyperplug.SpaceError, match="log scale needs a positive range"):
        study.optimize(lambda t: t.suggest_float("y", 0, 1, log=True), n_trials=1)
    with pytest.raises(hyperplug.SpaceError, match="keeps bools, ints, floats and strings"):
        study.optimize(lambda t: t.suggest_categorical("z", [None, 1]), n_trials=1)


def test_several_objectives_give_a_pareto_front():
    def objective(trial):
        x = trial.suggest_float("x", 0, 1)
        return x, (1 - x) ** 2

    study = hyperplug.create_study(directions=["minimize", "minimize"], strategy="nsga2", seed=1)
    study.optimize(objective, n_trials=30)
    front = study.best_trials
    assert front
    others = [t for t in study.trials if t.values]
    for f in front:
        assert not any(
            o.values[0] <= f.values[0] and o.values[1] <= f.values[1] and o.values != f.values
            for o in others
        )
    with pytest.raises(RuntimeError, match="several objectives"):
        study.best_trial


def test_bad_input_is_refused_with_a_message_that_says_what_to_do():
    with pytest.raises(hyperplug.StrategyError, match="unknown strategy `no-such`"):
        hyperplug.create_study(strategy="no-such")
    with pytest.raises(hyperplug.HyperplugError, match="unknown direction `up`"):
        hyperplug.create_study(direction="up")
    with pytest.raises(hyperplug.HyperplugError, match="invalid settings for `tpe`"):
        hyperplug.create_study(strategy="tpe", settings={"no_such_key": 1})
    with pytest.raises(hyperplug.StorageError, match="lives only in the Study object"):
        hyperplug.load_study(study_name="x", storage="memory")
    with pytest.raises(ValueError, match="give n_trials, timeout, or both"):
        hyperplug.create_study().optimize(lambda t: 0.0)
    study = hyperplug.create_study()
    with pytest.raises(ValueError, match="no trial is complete yet"):
        study.best_trial


@pytest.mark.parametrize("strategy", ["random", "tpe", "gp", "cmaes"])
def test_equal_bounds_fix_a_parameter_as_in_optuna(strategy):
    def objective(trial):
        lr = trial.suggest_float("lr", 1.0, 1.0)
        decay = trial.suggest_float("decay", 1e-3, 1e-3, log=True)
        frac = trial.suggest_float("frac", 0.5, 0.5, step=0.1)
        n = trial.suggest_int("n", 4, 4)
        x = trial.suggest_float("x", -1.0, 1.0)
        return (x - 0.2) ** 2 + lr + decay + frac + n

    study = hyperplug.create_study(strategy=strategy, seed=5)
    study.optimize(objective, n_trials=12)
    assert all(t.state == TrialState.COMPLETE for t in study.trials)
    for t in study.trials:
        assert (t.params["lr"], t.params["decay"], t.params["frac"], t.params["n"]) == (1.0, 1e-3, 0.5, 4)
    with pytest.raises(hyperplug.HyperplugError, match="inverted"):
        hyperplug.create_study().optimize(lambda t: t.suggest_float("y", 2.0, 1.0), n_trials=1)


def test_timeout_and_callbacks_and_the_dataframe():
    seen = []
    study = hyperplug.create_study(seed=8)
    study.optimize(
        conditional, timeout=0.5, callbacks=[lambda s, t: seen.append((s.study_name, t.number))]
    )
    n = len(study.trials)
    assert n >= 1 and [num for _, num in seen] == list(range(n))
    df = study.trials_dataframe()
    assert len(df) == n
    for col in ("number", "value", "params_x", "params_kind", "state", "duration"):
        assert col in df.columns
    square = df[df["params_kind"] == "square"]
    assert square["params_offset"].isna().all()
    assert math.isclose(df["value"].min(), study.best_value)


@pytest.mark.parametrize("seed", [None, 1])
def test_ctrl_c_on_several_threads_stops_new_trials_and_tells_the_running_ones(seed):
    # Ctrl-C reaches the main thread alone, which waits for the workers: it must stop them
    # asking (in order with a seed, as they come without), not be held until the budget is spent.
    def objective(trial):
        x = trial.suggest_float("x", 0, 1)
        if trial.number == 5:
            os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.01)
        return x

    study = hyperplug.create_study(seed=seed)
    with pytest.raises(KeyboardInterrupt):
        study.optimize(objective, n_trials=2000, n_jobs=4)
    trials = study.trials
    assert len(trials) < 100, f"{len(trials)} trials ran after Ctrl-C"
    assert TrialState.RUNNING not in {t.state for t in trials}, "every asked trial is told"


@pytest.mark.parametrize("n_jobs", [1, 3])
def test_a_result_no_float_holds_fails_its_trial_and_the_run_goes_on(n_jobs):
    # float(10**400) raises OverflowError, not ValueError: the trial must still be told (a
    # trial left running blocked every in-order thread for good) and the run go on. In a
    # process of its own, so that a hang fails the test instead of blocking it.
    script = f"""
import hyperplug

def objective(trial):
    x = trial.suggest_float("x", 0, 1)
    return 10**400 if trial.number == 1 else x

study = hyperplug.create_study(seed=1)
study.optimize(objective, n_trials=8, n_jobs={n_jobs})
for t in study.trials:
    print(t.number, t.state.name, t.message)
"""
    try:
        out = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
        )
    except subprocess.TimeoutExpired:
        pytest.fail("optimize hangs")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert len(lines) == 8
    assert lines[1].startswith("1 FAIL the objective returned 1000"), lines[1]
    assert "which is not a number" in lines[1]
    assert all(" COMPLETE " in line for line in lines[:1] + lines[2:])


def test_a_zero_dimensional_array_is_one_value():
    # `return loss` where loss is a 0-d NumPy array (or PyTorch tensor) is one number, as in
    # Optuna: it has a __len__ that raises, and cannot be iterated.
    np = pytest.importorskip("numpy")
    study = hyperplug.create_study(seed=1)
    study.optimize(lambda t: np.array(t.suggest_float("x", 0, 1) ** 2), n_trials=3)
    assert [t.state for t in study.trials] == [TrialState.COMPLETE] * 3
    assert all(t.value == pytest.approx(t.params["x"] ** 2) for t in study.trials)
    assert study.tell(study.ask(), np.array(0.5)).value == 0.5

    two = hyperplug.create_study(directions=["minimize", "maximize"], seed=1)
    two.optimize(lambda t: np.array([t.suggest_float("x", 0, 1), 1.0]), n_trials=2)
    assert [t.values[1] for t in two.trials] == [1.0, 1.0]


def test_a_string_is_not_values_and_a_trial_is_told_to_its_own_study():
    # "12" is a sequence of two characters, each a number to float(): it must not become the
    # values 1 and 2 of a two-objective study.
    two = hyperplug.create_study(directions=["minimize", "minimize"], seed=1)
    two.optimize(lambda t: str(t.suggest_int("x", 10, 99)), n_trials=2)
    assert [t.state for t in two.trials] == [TrialState.FAIL] * 2
    assert "str is not a number" in two.trials[0].message
    t = two.ask()
    with pytest.raises(TypeError, match="str is not a number"):
        two.tell(t, "12")
    other = hyperplug.create_study(study_name="other", seed=1)
    with pytest.raises(ValueError, match="belongs to study"):
        other.tell(t, [1.0, 2.0])
    assert two.tell(t, [1.0, 2.0]).values == [1.0, 2.0]


def test_a_study_name_with_a_control_character_is_refused():
    # It would be printed raw in listings and log lines: an escape sequence drives the terminal.
    with pytest.raises(hyperplug.HyperplugError, match="control character"):
        hyperplug.create_study(study_name="a\x1b[2Jb")


def test_a_tell_refused_for_its_arguments_leaves_the_trial_open_by_number():
    study = hyperplug.create_study(seed=1)
    t = study.ask()
    with pytest.raises(ValueError, match="needs its value"):
        study.tell(t.number, state=TrialState.COMPLETE)
    with pytest.raises(ValueError, match="COMPLETE, PRUNED or FAIL"):
        study.tell(t.number, 1.0, state=TrialState.RUNNING)
    with pytest.raises(ValueError, match="could not convert"):
        study.tell(t.number, ["not a number"])
    assert study.tell(t.number, 1.0).state == TrialState.COMPLETE


def test_an_int_beyond_64_bits_or_a_negative_step_is_refused_by_name():
    study = hyperplug.create_study(seed=1)
    t = study.ask()
    with pytest.raises(OverflowError, match=r"parameter `n`, high: \d{20,} .*64-bit"):
        t.suggest_int("n", 0, 2**70)
    with pytest.raises(OverflowError, match=r"a choice of `c`: -?\d+ .*64-bit"):
        t.suggest_categorical("c", [1, -(2**64)])
    with pytest.raises(OverflowError, match=r"user attribute `big`: \d+ .*64-bit"):
        t.set_user_attr("big", 2**63)
    with pytest.raises(OverflowError, match=r"enqueued parameter `e`: \d+ .*64-bit"):
        study.enqueue_trial({"e": 2**80})
    with pytest.raises(ValueError, match=r"step -1 of report\(\) must not be negative"):
        t.report(0.5, -1)
    assert study.tell(t, 1.0).state == TrialState.COMPLETE


@pytest.mark.parametrize("in_order", [True, False])
def test_a_callback_s_error_on_several_threads_ends_the_run_and_loses_no_result(in_order):
    # As on one thread: the error is raised soon, not after the whole budget, and every trial
    # that ran keeps its result, though the callback fails again while the last ones are told.
    def objective(trial):
        time.sleep(0.005)
        return trial.suggest_float("x", 0, 1)

    def callback(study, trial):
        if trial.number in (2, 3):
            raise RuntimeError(f"callback fails on trial {trial.number}")

    study = hyperplug.create_study(seed=1)
    with pytest.raises(RuntimeError, match=r"callback fails on trial \d"):
        study.optimize(objective, n_trials=300, n_jobs=3, callbacks=[callback], in_order=in_order)
    states = [t.state for t in study.trials]
    assert len(states) < 50, f"{len(states)} trials ran after the callback's error"
    assert set(states) == {TrialState.COMPLETE}
