"""Pruners in Optuna's shape: give one to :func:`hyperplug.create_study` (``pruner=``) and
:meth:`hyperplug.Trial.should_prune` asks it, from the intermediate values every trial reports::

    study = hyperplug.create_study(pruner=hyperplug.pruners.MedianPruner(n_startup_trials=5))

Each class names one of the engine's pruners and its settings, the same as a study file's
``[pruner]`` table (README: "Pruners"); the engine checks the settings when the study is created
and refuses wrong ones with :class:`hyperplug.HyperplugError`, naming the setting. The pruner is
stored with the study, so :func:`hyperplug.load_study` and ``hyperplug worker`` processes judge
trials by it too. A pruner from a plugin library is :class:`Pruner` (``Pruner("mine", k=1)``).

Unlike Optuna, a study made without a pruner has none (Optuna's default is a
:class:`MedianPruner`): ``should_prune()`` is then always ``False``.
"""

from __future__ import annotations

from typing import Any, Dict, Optional

__all__ = [
    "BasePruner",
    "HyperbandPruner",
    "MedianPruner",
    "NopPruner",
    "ParetoPruner",
    "PatientPruner",
    "PercentilePruner",
    "Pruner",
    "SuccessiveHalvingPruner",
    "ThresholdPruner",
    "WilcoxonPruner",
    "AshaPruner",
]


class BasePruner:
    """A pruner the engine runs: its ``name`` in the registry and its ``settings``."""

    #: The engine's name for the pruner (``None``: no pruner).
    name: Optional[str] = None

    def __init__(self) -> None:
        self.settings: Dict[str, Any] = {}
        #: The plugin library the pruner must come from (``None``: any, bundled first).
        self.library: Optional[str] = None

    def _set(self, **settings: Any) -> None:
        # Only the settings given (not None) are sent, so the engine's defaults apply otherwise.
        self.settings.update({k: v for k, v in settings.items() if v is not None})

    def _component(self) -> Optional[Dict[str, Any]]:
        """The engine's description: ``{"name", "library", "settings"}``; ``None``: no pruner."""
        if self.name is None:
            return None
        return {"name": self.name, "library": self.library, "settings": dict(self.settings)}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.settings.items())
        return f"{type(self).__name__}({args})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, BasePruner):
            return NotImplemented
        return self._component() == other._component()

    __hash__ = None  # type: ignore[assignment]


class Pruner(BasePruner):
    """Any pruner by its engine name, with its settings as keywords: a plugin library's
    (``Pruner("mine", library="libmine.so", k=1)``), or a bundled one
    (``Pruner("asha", reduction_factor=4)``)."""

    def __init__(self, name: str, *, library: Optional[str] = None, **settings: Any) -> None:
        super().__init__()
        if not isinstance(name, str) or not name:
            raise ValueError(f"a pruner needs a name, got {name!r}")
        self.name = name
        self.library = library
        self.settings = dict(settings)

    def __repr__(self) -> str:
        args = "".join(f", {k}={v!r}" for k, v in self.settings.items())
        return f"Pruner({self.name!r}{args})"


class NopPruner(BasePruner):
    """Never prunes (the same as giving no pruner)."""


class MedianPruner(BasePruner):
    """Stops a trial whose best value so far is worse than the median of the other trials'
    values at its step (engine ``median``)."""

    name = "median"

    def __init__(
        self,
        n_startup_trials: int = 5,
        n_warmup_steps: int = 0,
        interval_steps: int = 1,
        *,
        n_min_trials: int = 1,
    ) -> None:
        super().__init__()
        self._set(
            n_startup_trials=n_startup_trials,
            n_warmup_steps=n_warmup_steps,
            interval_steps=interval_steps,
            n_min_trials=n_min_trials,
        )


class PercentilePruner(BasePruner):
    """As :class:`MedianPruner`, at a ``percentile`` (25: only the best quarter goes on;
    engine ``percentile``)."""

    name = "percentile"

    def __init__(
        self,
        percentile: float,
        n_startup_trials: int = 5,
        n_warmup_steps: int = 0,
        interval_steps: int = 1,
        *,
        n_min_trials: int = 1,
    ) -> None:
        super().__init__()
        self._set(
            percentile=percentile,
            n_startup_trials=n_startup_trials,
            n_warmup_steps=n_warmup_steps,
            interval_steps=interval_steps,
            n_min_trials=n_min_trials,
        )


class PatientPruner(BasePruner):
    """Once a trial has not improved by ``min_delta`` for ``patience`` steps, asks
    ``wrapped_pruner`` (or stops it, when that is ``None``; engine ``patient``)."""

    name = "patient"

    def __init__(
        self, wrapped_pruner: Optional[BasePruner], patience: int, min_delta: float = 0.0
    ) -> None:
        super().__init__()
        self._set(patience=patience, min_delta=min_delta)
        if wrapped_pruner is not None:
            if not isinstance(wrapped_pruner, BasePruner):
                raise TypeError(
                    f"wrapped_pruner must be a hyperplug pruner or None, got {wrapped_pruner!r}"
                )
            wrapped = wrapped_pruner._component()
            if wrapped is not None:
                self.settings["wrapped"] = {"name": wrapped["name"], **wrapped["settings"]}


class ThresholdPruner(BasePruner):
    """Stops a trial whose latest value leaves ``[lower, upper]`` or is not a number (engine
    ``threshold``; for several objectives too)."""

    name = "threshold"

    def __init__(
        self,
        lower: Optional[float] = None,
        upper: Optional[float] = None,
        n_warmup_steps: int = 0,
        interval_steps: int = 1,
    ) -> None:
        super().__init__()
        self._set(
            lower=lower, upper=upper, n_warmup_steps=n_warmup_steps, interval_steps=interval_steps
        )


class WilcoxonPruner(BasePruner):
    """Steps are instances or folds: stops a trial when a one-sided signed-rank test finds it
    worse than the best complete trial (engine ``wilcoxon``)."""

    name = "wilcoxon"

    def __init__(self, p_threshold: float = 0.1, n_startup_steps: int = 2) -> None:
        super().__init__()
        self._set(p_threshold=p_threshold, n_startup_steps=n_startup_steps)


class SuccessiveHalvingPruner(BasePruner):
    """Successive halving in cohorts of consecutive trials, rungs at
    ``min_resource * reduction_factor**k`` steps (engine ``successive-halving``).

    Unlike Optuna's, it needs ``max_resource`` (the steps of a full trial) and its
    ``reduction_factor`` defaults to 3 (Optuna: 4); ``min_resource="auto"`` is not supported.
    """

    name = "successive-halving"

    def __init__(
        self,
        min_resource: int = 1,
        reduction_factor: int = 3,
        min_early_stopping_rate: int = 0,
        *,
        max_resource: Optional[int] = None,
        cohort: Optional[int] = None,
    ) -> None:
        super().__init__()
        self._set(
            max_resource=max_resource,
            min_resource=min_resource,
            reduction_factor=reduction_factor,
            min_early_stopping_rate=min_early_stopping_rate,
            cohort=cohort,
        )


class AshaPruner(BasePruner):
    """Asynchronous successive halving: at each rung a trial goes on if it is among the best
    ``1 / reduction_factor`` of every trial that reached the rung so far (engine ``asha``;
    Optuna's ``SuccessiveHalvingPruner`` is this rule)."""

    name = "asha"

    def __init__(
        self,
        min_resource: int = 1,
        reduction_factor: int = 3,
        min_early_stopping_rate: int = 0,
        max_resource: Optional[int] = None,
    ) -> None:
        super().__init__()
        self._set(
            min_resource=min_resource,
            reduction_factor=reduction_factor,
            min_early_stopping_rate=min_early_stopping_rate,
            max_resource=max_resource,
        )


class HyperbandPruner(BasePruner):
    """Hyperband: brackets of successive halving, each trial's bracket fixed by its number
    (engine ``hyperband``). ``max_resource`` is required (Optuna's ``"auto"`` is not
    supported); ``synchronous=True`` judges cohorts instead of ASHA's rule within a bracket."""

    name = "hyperband"

    def __init__(
        self,
        min_resource: int = 1,
        max_resource: Optional[int] = None,
        reduction_factor: int = 3,
        *,
        synchronous: bool = False,
    ) -> None:
        super().__init__()
        if max_resource == "auto":
            raise ValueError(
                "HyperbandPruner needs max_resource as a number of steps (the steps of a full "
                "trial); \"auto\" is not supported"
            )
        self._set(
            min_resource=min_resource,
            max_resource=max_resource,
            reduction_factor=reduction_factor,
            synchronous=synchronous or None,
        )


class ParetoPruner(BasePruner):
    """For studies with several objectives: stops a trial whose values at its step (reported
    as a list, one per objective) are dominated by at least ``fraction`` of the complete
    trials' values at that step (engine ``pareto``). Optuna has no pruner for several
    objectives."""

    name = "pareto"

    def __init__(
        self,
        fraction: float = 0.5,
        n_startup_trials: int = 5,
        n_warmup_steps: int = 0,
        interval_steps: int = 1,
    ) -> None:
        super().__init__()
        self._set(
            fraction=fraction,
            n_startup_trials=n_startup_trials,
            n_warmup_steps=n_warmup_steps,
            interval_steps=interval_steps,
        )
