"""Trials: the running :class:`Trial` an objective receives, and the finished :class:`FrozenTrial`."""

from __future__ import annotations

import datetime
import enum
import json
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Sequence, Union

if TYPE_CHECKING:
    from hyperplug._native import NativeTrial
    from hyperplug._study import Study

ParamValue = Union[bool, int, float, str]


class TrialState(enum.Enum):
    """Where a trial stands, as in Optuna."""

    RUNNING = 0
    COMPLETE = 1
    PRUNED = 2
    FAIL = 3
    WAITING = 4

    def is_finished(self) -> bool:
        """Whether the trial has ended, one way or another."""
        return self not in (TrialState.RUNNING, TrialState.WAITING)


_STATES = {
    "running": TrialState.RUNNING,
    "complete": TrialState.COMPLETE,
    "pruned": TrialState.PRUNED,
    "failed": TrialState.FAIL,
}


class Trial:
    """A running trial: the objective asks it for parameters (define-by-run) and reports to it.

    Each ``suggest_*`` call returns the strategy's value for a parameter the study already knows;
    a parameter seen for the first time is drawn at random for this trial and joins the study's
    space when the trial ends. Conditional parameters are simply the ones an ``if`` skips.
    """

    __slots__ = ("_native", "_study", "number")

    def __init__(self, study: "Study", native: "NativeTrial") -> None:
        self._study = study
        self._native = native
        #: The trial's number in its study, from 0.
        self.number: int = native.number

    @property
    def study(self) -> "Study":
        """The study this trial belongs to."""
        return self._study

    def suggest_float(
        self,
        name: str,
        low: float,
        high: float,
        *,
        step: Optional[float] = None,
        log: bool = False,
    ) -> float:
        """A float in ``[low, high]``, on a log scale with ``log=True``, on a grid with ``step``."""
        return self._native.suggest_float(name, float(low), float(high), step, log)

    def suggest_int(
        self, name: str, low: int, high: int, *, step: int = 1, log: bool = False
    ) -> int:
        """An int in ``[low, high]``, every ``step``-th, on a log scale with ``log=True``."""
        return self._native.suggest_int(name, int(low), int(high), int(step), log)

    def suggest_categorical(self, name: str, choices: Sequence[ParamValue]) -> ParamValue:
        """One of ``choices`` (bools, ints, floats or strings)."""
        return self._native.suggest_categorical(name, list(choices))

    def suggest_uniform(self, name: str, low: float, high: float) -> float:
        """Optuna's old name for :meth:`suggest_float`."""
        return self.suggest_float(name, low, high)

    def suggest_loguniform(self, name: str, low: float, high: float) -> float:
        """Optuna's old name for :meth:`suggest_float` with ``log=True``."""
        return self.suggest_float(name, low, high, log=True)

    def report(self, value: Union[float, Sequence[float]], step: int) -> None:
        """Records an intermediate value (e.g. the validation loss after epoch ``step``); in a
        study with several objectives, one value per objective (a list), which a pruner that
        judges several objectives (``ParetoPruner``) compares. Optuna refuses this."""
        step = int(step)
        if step < 0:
            # As Optuna does; the native call would only say it cannot convert to unsigned.
            raise ValueError(f"trial {self.number}: step {step} of report() must not be negative")
        if isinstance(value, (list, tuple)):
            self._native.report_values(step, [float(v) for v in value])
        else:
            self._native.report(step, float(value))

    def should_prune(self) -> bool:
        """Whether the study's strategy would stop this trial now, from its intermediate values."""
        return self._native.should_prune()

    def set_user_attr(self, key: str, value: ParamValue) -> None:
        """Keeps ``value`` with the trial under ``key``."""
        self._native.set_user_attr(key, value)

    @property
    def params(self) -> Dict[str, ParamValue]:
        """The parameters suggested so far."""
        return self._native.params()

    @property
    def user_attrs(self) -> Dict[str, ParamValue]:
        """The user attributes set so far."""
        return self._native.user_attrs()

    def __repr__(self) -> str:
        return f"Trial(number={self.number}, params={self.params!r})"


class FrozenTrial:
    """A trial as stored: its parameters, state, values and intermediate values."""

    __slots__ = (
        "number",
        "state",
        "values",
        "params",
        "intermediate_values",
        "user_attrs",
        "datetime_start",
        "datetime_complete",
        "message",
    )

    def __init__(self, data: Dict[str, Any]) -> None:
        self.number: int = data["number"]
        self.state: TrialState = _STATES[data["state"]]
        values = data.get("values") or []
        self.values: Optional[List[float]] = list(values) if values else None
        self.params: Dict[str, ParamValue] = dict(data.get("params") or {})
        self.intermediate_values: Dict[int, float] = {
            int(step): value for step, value in data.get("intermediate") or []
        }
        self.user_attrs: Dict[str, ParamValue] = dict(data.get("user_attrs") or {})
        started = data.get("started_ms")
        self.datetime_start: Optional[datetime.datetime] = (
            datetime.datetime.fromtimestamp(started / 1000.0) if started is not None else None
        )
        duration = data.get("duration_s")
        self.datetime_complete: Optional[datetime.datetime] = (
            self.datetime_start + datetime.timedelta(seconds=duration)
            if self.datetime_start is not None and duration is not None
            else None
        )
        #: Why the trial failed (or was pruned), when it says.
        self.message: Optional[str] = data.get("message")

    @classmethod
    def _many(cls, text: str) -> List["FrozenTrial"]:
        return [cls(d) for d in json.loads(text)]

    @property
    def value(self) -> Optional[float]:
        """The value of a single-objective trial (``None`` unless complete)."""
        if self.values is None:
            return None
        if len(self.values) != 1:
            raise RuntimeError(
                "this trial has several values; use `values` for a multi-objective study"
            )
        return self.values[0]

    @property
    def duration(self) -> Optional[datetime.timedelta]:
        """How long the trial ran, once finished."""
        if self.datetime_start is None or self.datetime_complete is None:
            return None
        return self.datetime_complete - self.datetime_start

    @property
    def last_step(self) -> Optional[int]:
        """The last step reported, if any."""
        return max(self.intermediate_values) if self.intermediate_values else None

    def __repr__(self) -> str:
        return (
            f"FrozenTrial(number={self.number}, state={self.state}, values={self.values}, "
            f"params={self.params!r})"
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, FrozenTrial):
            return NotImplemented
        return all(getattr(self, s) == getattr(other, s) for s in self.__slots__)

    __hash__ = None  # type: ignore[assignment]
