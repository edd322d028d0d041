"""Parameter distributions for :class:`hyperplug.sklearn.SearchCV`, with Optuna's names.

A search space is a dict from an estimator's parameter name to one of these; a plain list is
taken as a :class:`CategoricalDistribution`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional, Sequence

if TYPE_CHECKING:
    from hyperplug._trial import ParamValue, Trial


class FloatDistribution:
    """Floats in ``[low, high]``; on a log scale with ``log=True``; every ``step`` with a step."""

    def __init__(
        self, low: float, high: float, *, log: bool = False, step: Optional[float] = None
    ) -> None:
        self.low, self.high, self.log, self.step = float(low), float(high), log, step

    def suggest(self, trial: "Trial", name: str) -> float:
        return trial.suggest_float(name, self.low, self.high, log=self.log, step=self.step)

    def decode(self, stored: Any) -> Any:
        """The estimator's value for the value a trial stored."""
        return stored

    def __repr__(self) -> str:
        return f"FloatDistribution({self.low}, {self.high}, log={self.log}, step={self.step})"


class IntDistribution:
    """Ints in ``[low, high]``, every ``step``-th; on a log scale with ``log=True``."""

    def __init__(self, low: int, high: int, *, log: bool = False, step: int = 1) -> None:
        self.low, self.high, self.log, self.step = int(low), int(high), log, int(step)

    def suggest(self, trial: "Trial", name: str) -> int:
        return trial.suggest_int(name, self.low, self.high, log=self.log, step=self.step)

    def decode(self, stored: Any) -> Any:
        """The estimator's value for the value a trial stored."""
        return stored

    def __repr__(self) -> str:
        return f"IntDistribution({self.low}, {self.high}, log={self.log}, step={self.step})"


class CategoricalDistribution:
    """One of ``choices``: bools, ints, floats, strings, or ``None``."""

    def __init__(self, choices: Sequence[Any]) -> None:
        self.choices = list(choices)
        if not self.choices:
            raise ValueError("a categorical distribution needs at least one choice")

    def suggest(self, trial: "Trial", name: str) -> "ParamValue":
        # The engine keeps bools, numbers and strings: other choices (None, objects) travel as
        # their index and are mapped back here.
        if self._plain():
            return trial.suggest_categorical(name, self.choices)
        return self.decode(trial.suggest_categorical(name, list(range(len(self.choices)))))

    def decode(self, stored: Any) -> Any:
        """The estimator's value for the value a trial stored."""
        return stored if self._plain() else self.choices[stored]

    def _plain(self) -> bool:
        return all(isinstance(c, (bool, int, float, str)) for c in self.choices)

    def __repr__(self) -> str:
        return f"CategoricalDistribution({self.choices!r})"


def as_distribution(name: str, spec: Any) -> Any:
    """``spec`` as a distribution: one already, or a list of choices."""
    if hasattr(spec, "suggest"):
        return spec
    if isinstance(spec, (list, tuple)):
        return CategoricalDistribution(spec)
    raise TypeError(
        f"the space gives `{name}` as {spec!r}; use FloatDistribution, IntDistribution, "
        "CategoricalDistribution or a list of choices"
    )
