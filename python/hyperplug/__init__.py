"""hyperplug: hyperparameter optimization at Rust speed, in Optuna's shape.

Switching from Optuna is mostly an import::

    import hyperplug

    def objective(trial):
        x = trial.suggest_float("x", -10, 10)
        return (x - 2) ** 2

    study = hyperplug.create_study(direction="minimize", seed=1)
    study.optimize(objective, n_trials=100)
    print(study.best_params)

The strategies (TPE, CMA-ES, GP, QMC, NSGA-II, ... and plugin libraries) and the stores
(in memory, SQLite, PostgreSQL) are the same engine the ``hyperplug`` command line runs, in this
process: a study made here can be listed and exported by ``hyperplug studies``, and a study made
by ``hyperplug run`` can be continued here with :func:`load_study`.
"""

from hyperplug import _native, pruners
from hyperplug._study import Study, create_study, load_study
from hyperplug._trial import FrozenTrial, Trial, TrialState
from hyperplug.exceptions import (
    DuplicatedStudyError,
    HyperplugError,
    SpaceError,
    StorageError,
    StrategyError,
    TrialNotRunningError,
    TrialPruned,
)


def load_plugins(directory: str) -> list:
    """Loads the plugin libraries in ``directory`` (beside those on ``HYPERPLUG_PLUGIN_PATH``,
    which load by themselves); returns the names of the strategies known afterwards."""
    return _native.load_plugins(directory)


def strategies() -> list:
    """The strategies a study may use, as (name, source) pairs."""
    return _native.strategies()[0]


__version__ = "0.1.0"

__all__ = [
    "DuplicatedStudyError",
    "FrozenTrial",
    "HyperplugError",
    "SpaceError",
    "StorageError",
    "StrategyError",
    "Study",
    "Trial",
    "TrialNotRunningError",
    "TrialPruned",
    "TrialState",
    "create_study",
    "load_plugins",
    "load_study",
    "pruners",
    "strategies",
]
