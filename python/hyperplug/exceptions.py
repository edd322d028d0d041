"""Exceptions raised by hyperplug.

Errors from the engine arrive as :class:`HyperplugError` subclasses with the same messages the
``hyperplug`` command line prints.
"""

from hyperplug._native import (
    DuplicatedStudyError,
    HyperplugError,
    SpaceError,
    StorageError,
    StrategyError,
    TrialNotRunningError,
)


class TrialPruned(Exception):
    """Raise from an objective to stop the trial early; it is recorded as pruned.

    As with Optuna, raise it when :meth:`hyperplug.Trial.should_prune` says so::

        trial.report(loss, epoch)
        if trial.should_prune():
            raise hyperplug.TrialPruned()
    """


__all__ = [
    "DuplicatedStudyError",
    "HyperplugError",
    "SpaceError",
    "StorageError",
    "StrategyError",
    "TrialNotRunningError",
    "TrialPruned",
]
