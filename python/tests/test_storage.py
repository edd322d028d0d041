"""One study, two front ends: Python and the `hyperplug` CLI on one SQLite file, and PostgreSQL."""

import math
import subprocess
import threading

import pytest

import hyperplug
from hyperplug import TrialState

from conftest import _binary, cli, cli_json


def branin(x1, x2):
    a, b, c = 1.0, 5.1 / (4 * math.pi**2), 5 / math.pi
    r, s, t = 6.0, 10.0, 1 / (8 * math.pi)
    return a * (x2 - b * x1**2 + c * x1 - r) ** 2 + s * (1 - t) * math.cos(x1) + s


def conditional(trial):
    x = trial.suggest_float("x", -5, 5)
    if trial.suggest_categorical("branch", ["a", "b"]) == "a":
        return x * x + trial.suggest_int("k", 0, 3)
    return abs(x) + trial.suggest_float("w", 0.0, 1.0)


def test_a_study_made_in_python_is_listed_exported_and_continued(sqlite_url, tmp_path):
    study = hyperplug.create_study(study_name="py", storage=sqlite_url, seed=1)
    study.optimize(conditional, n_trials=12)
    best = study.best_value

    listed = cli("studies", "list", "--storage", sqlite_url, cwd=tmp_path).stdout
    assert "py" in listed
    shown = cli("studies", "show", "py", "--storage", sqlite_url, cwd=tmp_path).stdout
    assert "py" in shown and "12" in shown
    exported = cli_json(
        "studies", "export", "py", "--format", "json", "--storage", sqlite_url, cwd=tmp_path
    )
    trials = exported["trials"]
    assert len(trials) == 12
    for t in trials:
        expected = {"x", "branch", "k"} if t["params"]["branch"] == "a" else {"x", "branch", "w"}
        assert set(t["params"]) == expected, "only the suggested parameters are stored"
    assert {p["name"] for p in exported["study"]["space"]} == {"x", "branch", "k", "w"}

    # Another Study object (as another process would) continues it with its strategy and seed.
    again = hyperplug.load_study(study_name="py", storage=sqlite_url)
    assert (again.strategy, again.seed) == ("tpe", 1)
    again.optimize(conditional, n_trials=8)
    assert len(study.trials) == 20, "the first object sees the second's trials"
    assert study.best_value <= best

    with pytest.raises(hyperplug.DuplicatedStudyError, match="load_if_exists=True"):
        hyperplug.create_study(study_name="py", storage=sqlite_url)
    same = hyperplug.create_study(study_name="py", storage=sqlite_url, load_if_exists=True)
    assert len(same.trials) == 20
    with pytest.raises(hyperplug.StorageError, match="no study `nope`.*`py`"):
        hyperplug.load_study(study_name="nope", storage=sqlite_url)

    # A worker cannot run a Python objective; it says so.
    out = cli("worker", "--study", "py", "--storage", sqlite_url, cwd=tmp_path, check=False)
    assert out.returncode != 0
    assert "was not created by `hyperplug run`" in out.stderr
    assert "panicked" not in out.stderr


def test_a_study_file_s_study_is_shared_by_python_and_a_hyperplug_worker(sqlite_url, tmp_path):
    (tmp_path / "s.toml").write_text(
        '[study]\nname = "shared"\ntrials = 24\nseed = 5\n'
        '[strategy]\nname = "random"\n[objective]\nname = "branin"\n'
    )
    cli("studies", "create", "s.toml", "--storage", sqlite_url, cwd=tmp_path)
    study = hyperplug.load_study(study_name="shared", storage=sqlite_url)
    assert (study.strategy, study.seed, study.directions) == ("random", 5, ["minimize"])
    space = {p["name"]: p for p in study.space}
    assert set(space) == {"x0", "x1"}

    def objective(trial):
        x = [trial.suggest_float(n, space[n]["low"], space[n]["high"]) for n in ("x0", "x1")]
        return branin(*x)

    # Python runs 8 trials while a worker runs the study file's objective to its budget.
    worker = subprocess.Popen(
        [str(_binary()), "worker", "--study", "shared", "--storage", sqlite_url, "--json"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    study.optimize(objective, n_trials=8)
    out, err = worker.communicate(timeout=300)
    assert worker.returncode == 0, err

    exported = cli_json(
        "studies", "export", "shared", "--format", "json", "--storage", sqlite_url, cwd=tmp_path
    )
    trials = exported["trials"]
    numbers = sorted(t["number"] for t in trials)
    assert numbers == list(range(len(numbers))), "each number once"
    assert len(trials) >= 24
    assert all(t["state"] == "complete" for t in trials)
    by = {t["worker"] for t in trials}
    assert len(by) == 2, f"both the Python process and the worker ran trials: {by}"
    for t in trials:
        p = t["params"]
        assert t["values"][0] == pytest.approx(branin(p["x0"], p["x1"]), rel=1e-9)
    # The study file stays with the study: the CLI can still run it.
    cli("run", "s.toml", "--storage", sqlite_url, "--trials", "26", cwd=tmp_path)
    assert len(hyperplug.load_study(study_name="shared", storage=sqlite_url).trials) >= 26


def test_a_study_file_s_pruner_is_the_loaded_study_s(sqlite_url, tmp_path):
    (tmp_path / "p.toml").write_text(
        '[study]\nname = "pruned"\ntrials = 4\nseed = 5\n'
        '[strategy]\nname = "random"\n[objective]\nname = "branin"\n'
        '[pruner]\nname = "median"\nn_startup_trials = 3\n'
    )
    cli("studies", "create", "p.toml", "--storage", sqlite_url, cwd=tmp_path)
    pruner = hyperplug.load_study(study_name="pruned", storage=sqlite_url).pruner
    assert pruner is not None, "the study file's [pruner] table"
    c = pruner._component()
    assert (c["name"], c["settings"]) == ("median", {"n_startup_trials": 3})
    # Without a [pruner] table: none.
    (tmp_path / "q.toml").write_text((tmp_path / "p.toml").read_text().split("[pruner]")[0]
                                     .replace('"pruned"', '"plain"'))
    cli("studies", "create", "q.toml", "--storage", sqlite_url, cwd=tmp_path)
    assert hyperplug.load_study(study_name="plain", storage=sqlite_url).pruner is None


def test_threads_share_one_sqlite_study(sqlite_url):
    study = hyperplug.create_study(study_name="threads", storage=sqlite_url, seed=3)
    study.optimize(conditional, n_trials=24, n_jobs=4)
    trials = study.trials
    assert sorted(t.number for t in trials) == list(range(24))
    assert all(t.state == TrialState.COMPLETE for t in trials)


def test_postgres_holds_a_python_study_that_the_cli_shows(postgres_url, tmp_path):
    study = hyperplug.create_study(study_name="pg", storage=postgres_url, seed=2)
    study.optimize(conditional, n_trials=10, n_jobs=2)
    other = hyperplug.load_study(study_name="pg", storage=postgres_url)
    other.optimize(conditional, n_trials=5)
    assert len(study.trials) == 15
    listed = cli("studies", "list", "--storage", postgres_url, cwd=tmp_path).stdout
    assert "pg" in listed
    exported = cli_json(
        "studies", "export", "pg", "--format", "json", "--storage", postgres_url, cwd=tmp_path
    )
    assert sorted(t["number"] for t in exported["trials"]) == list(range(15))


def test_a_trial_open_longer_than_the_grace_period_keeps_its_lease(tmp_path):
    # The CLI's study file sets a short grace period; the Python study that continues it beats
    # for its open trial, so the trial is not taken for lost while the objective runs.
    url = f"sqlite:///{tmp_path}/lease.db"
    (tmp_path / "s.toml").write_text(
        '[study]\nname = "lease"\ntrials = 5\nseed = 1\nheartbeat_grace = "1s"\n'
        '[strategy]\nname = "random"\n[objective]\nname = "branin"\n'
    )
    cli("studies", "create", "s.toml", "--storage", url, cwd=tmp_path)
    study = hyperplug.load_study(study_name="lease", storage=url)
    trial = study.ask()
    trial.suggest_float("x0", -5, 10)
    done = threading.Event()
    # Meanwhile another Study object looks at the store (and would reap a lost trial).
    watcher = hyperplug.load_study(study_name="lease", storage=url)
    done.wait(3.0)
    assert [t.state for t in watcher.trials] == [TrialState.RUNNING]
    assert study.tell(trial, 1.0).state == TrialState.COMPLETE
