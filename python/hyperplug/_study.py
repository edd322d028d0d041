"""Studies: :func:`create_study`, :func:`load_study` and :class:`Study`, in Optuna's shape."""

from __future__ import annotations

import json
import math
import os
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import (
    Any,
    Callable,
    Dict,
    Iterable,
    List,
    Mapping,
    Optional,
    Sequence,
    Tuple,
    Type,
    Union,
)

from hyperplug import _native
from hyperplug._trial import FrozenTrial, ParamValue, Trial, TrialState
from hyperplug.exceptions import TrialPruned
from hyperplug.pruners import BasePruner, Pruner

ObjectiveFunc = Callable[[Trial], Union[float, Sequence[float]]]
CallbackFunc = Callable[["Study", FrozenTrial], None]


def _direction_names(
    direction: Optional[str], directions: Optional[Sequence[str]]
) -> Optional[List[str]]:
    if direction is not None and directions is not None:
        raise ValueError("give `direction` or `directions`, not both")
    if directions is not None:
        names = [_direction_name(d) for d in directions]
        if not names:
            raise ValueError("`directions` needs at least one direction")
        return names
    if direction is not None:
        return [_direction_name(direction)]
    return None


def _direction_name(d: Any) -> str:
    # Optuna's StudyDirection enum has a `name` of MINIMIZE / MAXIMIZE.
    name = getattr(d, "name", d)
    return str(name).lower()


def _pruner_json(pruner: Optional[BasePruner]) -> Optional[str]:
    if pruner is None:
        return None
    if not isinstance(pruner, BasePruner):
        raise TypeError(
            f"pruner must be one of hyperplug.pruners (MedianPruner(), Pruner(\"name\", ...)), "
            f"got {pruner!r}"
        )
    component = pruner._component()
    if component is None:  # NopPruner
        return None
    try:
        return json.dumps(component, default=_json_number)
    except TypeError as e:
        raise TypeError(f"{pruner!r}: its settings must be numbers, strings, bools, lists or dicts ({e})") from None


def _json_number(x: Any) -> Any:
    # NumPy scalars and the like: their Python value.
    if hasattr(x, "item"):
        return x.item()
    raise TypeError(f"{x!r} is not JSON")


def create_study(
    *,
    storage: Optional[str] = None,
    study_name: Optional[str] = None,
    direction: Optional[str] = None,
    directions: Optional[Sequence[str]] = None,
    strategy: Optional[str] = None,
    settings: Optional[Mapping[str, Any]] = None,
    seed: Optional[int] = None,
    load_if_exists: bool = False,
    name: Optional[str] = None,
    pruner: Optional[BasePruner] = None,
) -> "Study":
    """Creates a study, or continues a stored one with ``load_if_exists=True``.

    ``storage`` is a storage URL as the ``hyperplug`` CLI takes it (``sqlite:///path.db``,
    ``postgres://user@host/db``; ``None`` keeps the study in memory). ``strategy`` names any
    bundled strategy (``tpe`` by default, ``random``, ``qmc``, ``grid``, ``cmaes``, ``gp``, ...) or
    one from a plugin library on ``HYPERPLUG_PLUGIN_PATH``; ``settings`` are its settings, as in
    a study file's ``[strategy]`` table. With a ``seed`` the trials are reproducible (with
    ``n_jobs > 1`` too: see :meth:`Study.optimize`). ``pruner`` is one of
    :mod:`hyperplug.pruners` (none by default, unlike Optuna, whose default is the median
    pruner); it is stored with the study, and a loaded study keeps it.
    """
    if name is not None and study_name is not None and name != study_name:
        raise ValueError("give `name` or `study_name`, not both")
    study_name = study_name or name or f"no-name-{uuid.uuid4()}"
    native = _native.open_study(
        study_name,
        storage,
        _direction_names(direction, directions),
        strategy,
        json.dumps(dict(settings)) if settings is not None else None,
        seed,
        load_if_exists,
        False,
        _pruner_json(pruner),
    )
    return Study(native, seeded=seed is not None)


def load_study(
    *,
    study_name: str,
    storage: str,
    strategy: Optional[str] = None,
    settings: Optional[Mapping[str, Any]] = None,
    seed: Optional[int] = None,
    pruner: Optional[BasePruner] = None,
) -> "Study":
    """Continues the stored study ``study_name``, made from Python or by ``hyperplug run``.

    The strategy, its settings, the seed and the pruner are the ones the study was made with;
    given, they must be the same.
    """
    native = _native.open_study(
        study_name,
        storage,
        None,
        strategy,
        json.dumps(dict(settings)) if settings is not None else None,
        seed,
        True,
        True,
        _pruner_json(pruner),
    )
    return Study(native, seeded=seed is not None)


class _Budget:
    """Counts the trials one ``optimize`` call starts, across its threads."""

    def __init__(self, n_trials: Optional[int], timeout: Optional[float]) -> None:
        self._left = n_trials
        self._deadline = None if timeout is None else time.monotonic() + timeout
        self._lock = threading.Lock()
        self.stopped = False

    def take(self) -> bool:
        with self._lock:
            if self.stopped:
                return False
            if self._deadline is not None and time.monotonic() >= self._deadline:
                return False
            if self._left is not None:
                if self._left <= 0:
                    return False
                self._left -= 1
            return True

    def stop(self) -> None:
        with self._lock:
            self.stopped = True


class _Outcome:
    """What an objective's run tells its trial, and the exception to raise after (if any)."""

    __slots__ = ("state", "values", "message", "error")

    def __init__(
        self,
        state: TrialState,
        values: Optional[List[float]],
        message: Optional[str],
        error: Optional[BaseException] = None,
    ) -> None:
        self.state = state
        self.values = values
        self.message = message
        self.error = error


class _Ordered:
    """Several threads that ask and tell in trial-number order, at most ``n_jobs`` trials open:
    before the ``k``-th ask of this run, exactly the trials asked before ``k - n_jobs + 1`` are
    told (waiting for them when they are still running; later ones that finished early wait to
    be told). The strategy then sees the same finished and running trials at every ask, whatever
    the threads' timing, so a seeded run's trials repeat."""

    def __init__(
        self, study: "Study", n_jobs: int, callbacks: List[CallbackFunc], gc_after_trial: bool
    ) -> None:
        self._study = study
        self._n_jobs = n_jobs
        self._callbacks = callbacks
        self._gc = gc_after_trial
        self._cond = threading.Condition()
        self._asked: List[Trial] = []  # by this run's ask order
        self._outcomes: Dict[int, _Outcome] = {}  # by ask index, until told
        self._told = 0  # asks told so far: indices below it
        self._errors: List[BaseException] = []

    def work(
        self,
        func: ObjectiveFunc,
        budget: _Budget,
        catch: Tuple[Type[BaseException], ...],
    ) -> None:
        try:
            self._work(func, budget, catch)
        except BaseException:
            # A callback's (or the store's) error ends the run on every thread, as on one.
            budget.stop()
            with self._cond:
                self._cond.notify_all()
            raise

    def _work(
        self,
        func: ObjectiveFunc,
        budget: _Budget,
        catch: Tuple[Type[BaseException], ...],
    ) -> None:
        while True:
            with self._cond:
                if not budget.take():
                    return
                # The next ask is the k-th: first tell every ask before k - n_jobs + 1, in order,
                # waiting for their outcomes (k is read again after each wait: another thread
                # may have asked meanwhile).
                while True:
                    k = len(self._asked)
                    if budget.stopped:
                        return
                    if self._told > k - self._n_jobs:
                        break
                    if self._told in self._outcomes:
                        self._tell_next()
                    else:
                        self._cond.wait()
                trial = self._study._ask()
                if trial is None:  # the study's budget is spent, or its strategy has no more
                    budget.stop()
                    self._cond.notify_all()
                    return
                self._asked.append(trial)
            outcome = self._study._evaluate(func, trial, catch, budget)
            with self._cond:
                self._outcomes[k] = outcome
                self._cond.notify_all()

    def _tell_next(self) -> None:
        k = self._told
        outcome = self._outcomes.pop(k, None) or _Outcome(
            TrialState.FAIL, None, "its thread ended without a result"
        )
        self._told += 1
        self._study._finish(self._asked[k], outcome, self._callbacks, self._gc)
        if outcome.error is not None:
            self._errors.append(outcome.error)

    def finish(self) -> List[BaseException]:
        """Tells what is left, in order (every thread has returned); the objectives' errors."""
        with self._cond:
            while self._told < len(self._asked):
                try:
                    self._tell_next()
                except BaseException as e:  # a callback's: the trials after it are told still
                    self._errors.append(e)
        return self._errors


class Study:
    """A study: its strategy proposes each trial's parameters, and learns from the results."""

    def __init__(self, native: "_native.NativeStudy", seeded: bool = False) -> None:
        self._native = native
        # A seed was given: several jobs then ask and tell in trial-number order (`_Ordered`).
        self._seeded = seeded
        # Trials asked through this object and not yet told, so that `tell` takes a number too.
        self._open: Dict[int, Trial] = {}
        self._open_lock = threading.Lock()

    # -- what it is --------------------------------------------------------------------------

    @property
    def study_name(self) -> str:
        """The study's name in its store."""
        return self._native.name

    @property
    def directions(self) -> List[str]:
        """``"minimize"`` or ``"maximize"``, one per objective."""
        return self._native.directions

    @property
    def direction(self) -> str:
        """The direction of a single-objective study."""
        d = self.directions
        if len(d) != 1:
            raise RuntimeError("this study has several objectives; use `directions`")
        return d[0]

    @property
    def strategy(self) -> str:
        """The name of the study's strategy."""
        return self._native.strategy

    @property
    def seed(self) -> int:
        """The seed every random choice of the study derives from."""
        return self._native.seed

    @property
    def pruner(self) -> Optional[BasePruner]:
        """The study's pruner as stored (a :class:`hyperplug.pruners.Pruner` by its engine
        name), or ``None``."""
        text = self._native.pruner_json
        if text is None:
            return None
        c = json.loads(text)
        return Pruner(c["name"], library=c.get("library"), **(c.get("settings") or {}))

    @property
    def space(self) -> List[Dict[str, Any]]:
        """The parameters learned so far, as the store keeps them."""
        return json.loads(self._native.space_json())

    # -- ask and tell ------------------------------------------------------------------------

    def ask(self) -> Trial:
        """Starts a trial: a queued one first (:meth:`enqueue_trial`), else the strategy's.

        Raises :class:`hyperplug.StrategyError` when the study's budget is spent (a study file's
        ``trials``) or its strategy has nothing more to suggest (a finished grid).
        """
        trial = self._ask()
        if trial is None:
            raise _native.StrategyError(
                f"study `{self.study_name}` starts no more trials: its budget is spent or its "
                "strategy has nothing more to suggest"
            )
        return trial

    def _ask(self) -> Optional[Trial]:
        native = self._native.ask()
        if native is None:
            return None
        trial = Trial(self, native)
        with self._open_lock:
            self._open[trial.number] = trial
        return trial

    def tell(
        self,
        trial: Union[Trial, int],
        values: Union[None, float, Sequence[float]] = None,
        state: Optional[TrialState] = None,
        *,
        message: Optional[str] = None,
    ) -> FrozenTrial:
        """Finishes ``trial`` with its value(s), or as pruned or failed.

        Without a ``state``, a trial with values completes and one without fails. Values that are
        NaN or infinite, or of the wrong count, fail the trial, as the CLI does.
        """
        if not isinstance(trial, Trial):
            with self._open_lock:
                found = self._open.get(trial) if isinstance(trial, int) else None
            if found is None:
                raise TypeError(
                    f"tell takes a Trial that this Study's ask() returned, or its number; got {trial!r}"
                )
            trial = found
        elif trial._study is not self:
            raise ValueError(
                f"trial {trial.number} belongs to study `{trial._study.study_name}`, not to "
                f"`{self.study_name}`; tell it to the study whose ask() returned it"
            )
        if state is None:
            state = TrialState.COMPLETE if values is not None else TrialState.FAIL
        vals = None
        if state == TrialState.COMPLETE:
            if values is None:
                raise ValueError("a complete trial needs its value(s)")
            vals = _values(values)
        elif state not in (TrialState.PRUNED, TrialState.FAIL):
            raise ValueError(f"a trial can be told as COMPLETE, PRUNED or FAIL, not {state}")
        # Only now: a tell refused for its arguments leaves the trial to tell again, by number too.
        with self._open_lock:
            self._open.pop(trial.number, None)
        if state == TrialState.COMPLETE:
            text = self._native.tell(trial._native, "complete", vals, None)
        elif state == TrialState.PRUNED:
            text = self._native.tell(trial._native, "pruned", None, message)
        else:
            text = self._native.tell(trial._native, "fail", None, message or "failed by tell")
        return FrozenTrial(json.loads(text))

    def enqueue_trial(
        self,
        params: Mapping[str, ParamValue],
        user_attrs: Optional[Mapping[str, ParamValue]] = None,
        skip_if_exists: bool = False,
    ) -> None:
        """Queues a trial whose ``suggest_*`` calls return these values (a warm start).

        Parameters it leaves out are drawn when the objective suggests them.
        """
        if user_attrs:
            raise NotImplementedError("enqueue_trial does not keep user_attrs yet")
        if skip_if_exists and any(t.params == dict(params) for t in self.trials):
            return
        self._native.enqueue(dict(params))

    # -- optimize ----------------------------------------------------------------------------

    def optimize(
        self,
        func: ObjectiveFunc,
        n_trials: Optional[int] = None,
        timeout: Optional[float] = None,
        n_jobs: int = 1,
        catch: Union[Iterable[Type[BaseException]], Type[BaseException]] = (),
        callbacks: Optional[List[CallbackFunc]] = None,
        gc_after_trial: bool = False,
        show_progress_bar: bool = False,
        *,
        in_order: Optional[bool] = None,
    ) -> None:
        """Runs ``func`` on ``n_trials`` new trials (or until ``timeout`` seconds have passed).

        An exception from ``func`` fails its trial and is raised again, unless it is one of
        ``catch``; :class:`hyperplug.TrialPruned` prunes it. ``n_jobs > 1`` runs trials on that many
        threads (``-1``: one per CPU); the GIL is released while the strategy thinks and the
        store works, so objectives that release it too (NumPy, PyTorch, scikit-learn) overlap.

        With several jobs on a study given a ``seed``, trials are asked and told in trial-number
        order (``in_order``, the default then): trial ``k`` is asked once trials up to
        ``k - n_jobs`` are told, and while trials ``k - n_jobs + 1 .. k - 1`` are running, so the
        strategy sees the same history at every ask whatever the threads' timing, and two runs
        give the same trials (with ``n_trials``; not when a ``timeout`` cuts them, when another
        process shares the study, or when a pruner that compares trials, all but the threshold
        pruner, decides from values that running trials report as they go). The price: a thread
        whose trial is ``n_jobs`` ahead of an unfinished one waits for it. ``in_order=False``
        lets every thread ask as soon as it is free (Optuna's way). Ctrl-C with several jobs starts
        no new trial: the running ones finish and are told, then ``KeyboardInterrupt`` is raised.
        """
        del show_progress_bar  # accepted for Optuna compatibility
        if n_trials is None and timeout is None:
            raise ValueError(
                "give n_trials, timeout, or both: hyperplug does not run until interrupted"
            )
        catch = tuple(catch) if not isinstance(catch, type) else (catch,)
        if n_jobs == -1:
            n_jobs = os.cpu_count() or 1
        if n_jobs < 1:
            raise ValueError(f"n_jobs must be at least 1 (or -1), got {n_jobs}")
        budget = _Budget(n_trials, timeout)
        callbacks = list(callbacks or [])
        if n_jobs == 1:
            self._work(func, budget, catch, callbacks, gc_after_trial)
            return
        if in_order is None:
            in_order = self._seeded
        if in_order:
            ordered = _Ordered(self, n_jobs, callbacks, gc_after_trial)
            work: Callable[[], None] = lambda: ordered.work(func, budget, catch)  # noqa: E731
        else:
            work = lambda: self._work(func, budget, catch, callbacks, gc_after_trial)  # noqa: E731
        interrupt: Optional[BaseException] = None
        with ThreadPoolExecutor(max_workers=n_jobs) as pool:
            futures = [pool.submit(work) for _ in range(n_jobs)]
            errors = []
            for f in futures:
                while True:
                    try:
                        error = f.exception()
                        break
                    except BaseException as e:
                        # Ctrl-C reaches this thread alone, while it waits: no trial starts
                        # after it, the running ones finish and are told, then it is raised.
                        budget.stop()
                        interrupt = interrupt or e
                if error is not None:  # raised again below, first one first
                    errors.append(error)
        if in_order:
            # Trials that finished after the last ask are told now, in order.
            errors.extend(ordered.finish())
        if interrupt is not None:
            raise interrupt
        if errors:
            raise errors[0]

    def _work(
        self,
        func: ObjectiveFunc,
        budget: _Budget,
        catch: Tuple[Type[BaseException], ...],
        callbacks: List[CallbackFunc],
        gc_after_trial: bool,
    ) -> None:
        try:
            while budget.take():
                trial = self._ask()
                if trial is None:  # the study's budget is spent, or its strategy has no more
                    budget.stop()
                    return
                outcome = self._evaluate(func, trial, catch, budget)
                self._finish(trial, outcome, callbacks, gc_after_trial)
                if outcome.error is not None:
                    raise outcome.error
        except BaseException:
            # A callback's (or the store's) error ends the run on every thread, as on one.
            budget.stop()
            raise

    def _evaluate(
        self,
        func: ObjectiveFunc,
        trial: Trial,
        catch: Tuple[Type[BaseException], ...],
        budget: _Budget,
    ) -> "_Outcome":
        """Runs the objective on ``trial``; what to tell (the error to raise after, if any)."""
        try:
            result = func(trial)
        except TrialPruned as e:
            return _Outcome(TrialState.PRUNED, None, str(e) or None)
        except BaseException as e:
            message = f"{type(e).__name__}: {e}"
            if isinstance(e, catch) and isinstance(e, Exception):
                return _Outcome(TrialState.FAIL, None, message)
            budget.stop()
            return _Outcome(TrialState.FAIL, None, message, e)
        try:
            values = _values(result)
        except Exception as e:  # not numbers, or a number no float holds (10**400): told failed
            return _Outcome(
                TrialState.FAIL,
                None,
                f"the objective returned {_clip(repr(result))}, which is not a number or a sequence "
                f"of numbers ({type(e).__name__}: {e})",
            )
        return _Outcome(TrialState.COMPLETE, values, None)

    def _finish(
        self,
        trial: Trial,
        outcome: "_Outcome",
        callbacks: List[CallbackFunc],
        gc_after_trial: bool,
    ) -> FrozenTrial:
        """Tells ``trial``'s outcome, then runs the callbacks."""
        frozen = self.tell(trial, outcome.values, outcome.state, message=outcome.message)
        if outcome.error is None:
            for cb in callbacks:
                cb(self, frozen)
        if gc_after_trial:
            import gc

            gc.collect()
        return frozen

    # -- results -----------------------------------------------------------------------------

    @property
    def trials(self) -> List[FrozenTrial]:
        """Every trial by number, running ones and other workers' included."""
        return FrozenTrial._many(self._native.trials_json())

    def get_trials(
        self, deepcopy: bool = True, states: Optional[Iterable[TrialState]] = None
    ) -> List[FrozenTrial]:
        """The trials, optionally only those in ``states``."""
        del deepcopy  # every call returns fresh objects
        trials = self.trials
        if states is None:
            return trials
        wanted = set(states)
        return [t for t in trials if t.state in wanted]

    @property
    def best_trials(self) -> List[FrozenTrial]:
        """The complete trials on the Pareto front (for one objective: the best trial)."""
        return FrozenTrial._many(self._native.best_trials_json())

    @property
    def best_trial(self) -> FrozenTrial:
        """The best complete trial of a single-objective study (the earliest among ties)."""
        if len(self.directions) != 1:
            raise RuntimeError(
                "a study with several objectives has no single best trial; use `best_trials`"
            )
        best = self.best_trials
        if not best:
            raise ValueError("no trial is complete yet, so there is no best trial")
        return best[0]

    @property
    def best_params(self) -> Dict[str, ParamValue]:
        """The parameters of :attr:`best_trial`."""
        return self.best_trial.params

    @property
    def best_value(self) -> float:
        """The value of :attr:`best_trial`."""
        value = self.best_trial.value
        assert value is not None
        return value

    def trials_dataframe(self) -> "Any":
        """The trials as a pandas DataFrame (pandas must be installed), Optuna's columns."""
        try:
            import pandas as pd
        except ImportError as e:
            raise ImportError("trials_dataframe needs pandas: pip install pandas") from e
        multi = len(self.directions) > 1
        rows = []
        for t in self.trials:
            row: Dict[str, Any] = {"number": t.number}
            if multi:
                for i in range(len(self.directions)):
                    row[f"values_{i}"] = t.values[i] if t.values else math.nan
            else:
                row["value"] = t.values[0] if t.values else math.nan
            row["datetime_start"] = t.datetime_start
            row["datetime_complete"] = t.datetime_complete
            row["duration"] = t.duration
            for k, v in t.params.items():
                row[f"params_{k}"] = v
            for k, v in t.user_attrs.items():
                row[f"user_attrs_{k}"] = v
            row["state"] = t.state.name
            rows.append(row)
        return pd.DataFrame(rows)

    def __repr__(self) -> str:
        return (
            f"Study(study_name={self.study_name!r}, directions={self.directions}, "
            f"strategy={self.strategy!r}, storage={self._native.location!r})"
        )


def _clip(text: str, limit: int = 200) -> str:
    """At most ``limit`` characters of ``text``, for messages."""
    return text if len(text) <= limit else text[:limit] + "…"


def _values(result: Any) -> List[float]:
    """The value(s) of an objective's result or a tell: one number, or a sequence of numbers."""
    if isinstance(result, (str, bytes)):
        # A string is a sequence too, but "12" is not the values 1 and 2.
        raise TypeError(f"{type(result).__name__} is not a number")
    return [float(result)] if _is_number(result) else [float(v) for v in result]


def _is_number(x: Any) -> bool:
    # A 0-d NumPy array or PyTorch tensor is one number, though it has a `__len__` (that raises).
    return isinstance(x, (int, float)) or (
        hasattr(x, "__float__") and (not hasattr(x, "__len__") or getattr(x, "ndim", None) == 0)
    )
