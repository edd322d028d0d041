"""A strategy from a plugin library, loaded from the plugin path, used from Python."""

import os
import subprocess
import sys

import hyperplug
from hyperplug import TrialState


def bowl(trial):
    return sum((trial.suggest_float(f"x{i}", -1, 1) - 0.3) ** 2 for i in range(3))


def test_a_plugin_strategy_from_a_plugin_directory(plugin_dir):
    names = hyperplug.load_plugins(str(plugin_dir))
    assert "local-search" in names
    source = dict(hyperplug.strategies())["local-search"]
    assert "example_sampler" in source, source
    study = hyperplug.create_study(
        strategy="local-search", settings={"sigma": 0.1, "explore": 0.1}, seed=3
    )
    study.optimize(bowl, n_trials=40)
    assert all(t.state == TrialState.COMPLETE for t in study.trials)
    # Local search around the best: the last trials are better than random ones on average.
    values = [t.value for t in study.trials]
    assert sum(values[-10:]) / 10 < sum(values[:10]) / 10
    assert study.best_value < 0.2


def test_the_plugin_path_variable_is_read_when_the_package_loads(plugin_dir):
    # A fresh interpreter: the registry loads HYPERPLUG_PLUGIN_PATH once, on first use.
    code = (
        "import hyperplug; s = hyperplug.create_study(strategy='local-search', seed=1);"
        "s.optimize(lambda t: t.suggest_float('x', 0, 1) ** 2, n_trials=5);"
        "print(len(s.trials), s.strategy)"
    )
    env = dict(os.environ, HYPERPLUG_PLUGIN_PATH=str(plugin_dir))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["5", "local-search"]
