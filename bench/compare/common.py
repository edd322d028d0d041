"""What run.py and overhead.py share: samplers by label, the ask/tell loop with its timing, and the
JSON line that `hyperplug bench report` reads."""

from __future__ import annotations

import json
import time
from typing import Any, Callable

OPTUNA_SAMPLERS = ["random", "qmc", "tpe", "tpe-indep", "gp", "cmaes", "nsga2", "nsga3"]
RUSTUNA_SAMPLERS = ["random", "tpe", "tpe-indep", "cmaes", "nsga2"]


def sampler(system: str, label: str, seed: int):
    """The sampler `label` of `system`, seeded."""
    if system == "optuna":
        import warnings

        import optuna

        # QMC and GP are "experimental" in Optuna 5; the warning would repeat for every run.
        warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
        s = optuna.samplers
        makers: dict[str, Callable[[], Any]] = {
            "random": lambda: s.RandomSampler(seed=seed),
            "qmc": lambda: s.QMCSampler(seed=seed, scramble=True),
            # Optuna 5's default TPE is multivariate for single-objective studies.
            "tpe": lambda: s.TPESampler(seed=seed),
            "tpe-indep": lambda: s.TPESampler(seed=seed, multivariate=False),
            "gp": lambda: s.GPSampler(seed=seed),
            "cmaes": lambda: s.CmaEsSampler(seed=seed),
            "nsga2": lambda: s.NSGAIISampler(seed=seed),
            "nsga3": lambda: s.NSGAIIISampler(seed=seed),
        }
    elif system == "rustuna":
        import rustuna

        s = rustuna.samplers
        makers = {
            "random": lambda: s.RandomSampler(seed=seed),
            "tpe": lambda: s.TPESampler(seed=seed),
            "tpe-indep": lambda: s.TPESampler(seed=seed, multivariate=False),
            "cmaes": lambda: s.CmaEsSampler(seed=seed),
            "nsga2": lambda: s.NSGAIISampler(seed=seed),
        }
    else:
        raise SystemExit(f"unknown system `{system}`; use optuna or rustuna")
    if label not in makers:
        raise SystemExit(f"{system} has no sampler `{label}` here; choose from {', '.join(makers)}")
    return makers[label]()


def version(system: str) -> str:
    from importlib.metadata import version as v

    return v(system)


def create_study(system: str, sampler_obj, direction: str):
    if system == "optuna":
        import optuna

        optuna.logging.set_verbosity(optuna.logging.ERROR)
        return optuna.create_study(sampler=sampler_obj, direction=direction)
    import rustuna

    return rustuna.create_study(sampler=sampler_obj, direction=direction)


def tell(system: str, study, trial, value: float | None) -> None:
    if system == "optuna":
        import optuna

        if value is None:
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
        else:
            study.tell(trial, value)
    else:
        import rustuna

        if value is None:
            study.tell(trial.number, state=rustuna.trial.TrialState.FAIL)
        else:
            study.tell(trial.number, value)


def run(system, study, suggest, evaluate, budget, direction, timeout=None):
    """Drives `budget` trials by ask and tell. `suggest(trial)` asks the sampler for the
    parameters (define-by-run: sampling happens there); `evaluate(params, number)` returns
    (observed, quality) or raises. Returns the measured fields of a record."""
    better = (lambda a, b: a < b) if direction == "minimize" else (lambda a, b: a > b)
    best = None  # (observed, quality, number)
    best_so_far, sampler_s, trial_s = [], [], []
    complete = failed = 0
    start = time.perf_counter()
    for _ in range(budget):
        t0 = time.perf_counter()
        trial = study.ask()
        params = suggest(trial)
        t1 = time.perf_counter()
        try:
            observed, quality = evaluate(params, trial.number)
        except KeyError:
            observed = quality = None
        t2 = time.perf_counter()
        tell(system, study, trial, observed)
        t3 = time.perf_counter()
        if observed is None:
            failed += 1
        else:
            complete += 1
            # The earliest of ties stays best, as in hyperplug.
            if best is None or better(observed, best[0]):
                best = (observed, quality, trial.number)
        best_so_far.append(None if best is None else best[1])
        trial_s.append(t3 - t0)
        sampler_s.append((t3 - t0) - (t2 - t1))
        if timeout is not None and t3 - start >= timeout:
            break
    return {
        "trials": len(trial_s),
        "complete": complete,
        "failed": failed,
        "best_value": None if best is None else best[1],
        "best_observed": None if best is None else best[0],
        "best_trial": None if best is None else best[2],
        "best_so_far": best_so_far,
        "sampler_s": sampler_s,
        "trial_s": trial_s,
        "wall_s": time.perf_counter() - start,
    }


def record(**fields) -> str:
    """One JSON line in the schema of hyperplug's `bench::Record`."""
    order = [
        "kind", "system", "system_version", "strategy", "strategy_name", "strategy_settings",
        "problem", "objective", "problem_settings", "direction", "seed", "budget", "trials",
        "complete", "failed", "best_value", "best_observed", "best_trial", "optimum", "regret",
        "best_so_far", "sampler_s", "trial_s", "wall_s", "checkpoints", "error",
    ]
    out = {k: fields[k] for k in order if k in fields and fields[k] is not None}
    for k in ("best_value", "best_so_far"):
        out.setdefault(k, fields.get(k))
    return json.dumps(out)


def regret(direction: str, value: float | None, optimum: float | None) -> float | None:
    if value is None or optimum is None:
        return None
    return value - optimum if direction == "minimize" else optimum - value
