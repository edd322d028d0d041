"""The benchmark problems of hyperplug's suites, in Python, for Optuna and Rustuna.

Each definition follows the Rust one it mirrors (objectives/synthetic/src/functions.rs and
objectives/table): the same domains, the same constants, the same optimum; a table trial's noisy
value is the metric of one seed of the configuration, and its quality the mean over seeds.
"""

from __future__ import annotations

import csv
import gzip
import json
import math
import os
from dataclasses import dataclass, field
from typing import Any, Callable

# ---------------------------------------------------------------------------------------------
# Synthetic functions


def branin(x: list[float]) -> float:
    x0, x1 = x
    b = 5.1 / (4.0 * math.pi**2)
    c = 5.0 / math.pi
    r, s, t = 6.0, 10.0, 1.0 / (8.0 * math.pi)
    return (x1 - b * x0 * x0 + c * x0 - r) ** 2 + s * (1.0 - t) * math.cos(x0) + s


_ALPHA = [1.0, 1.2, 3.0, 3.2]
_H3_A = [[3.0, 10.0, 30.0], [0.1, 10.0, 35.0], [3.0, 10.0, 30.0], [0.1, 10.0, 35.0]]
_H3_P = [
    [0.3689, 0.1170, 0.2673],
    [0.4699, 0.4387, 0.7470],
    [0.1091, 0.8732, 0.5547],
    [0.03815, 0.5743, 0.8828],
]
_H6_A = [
    [10.0, 3.0, 17.0, 3.5, 1.7, 8.0],
    [0.05, 10.0, 17.0, 0.1, 8.0, 14.0],
    [3.0, 3.5, 1.7, 10.0, 17.0, 8.0],
    [17.0, 8.0, 0.05, 10.0, 0.1, 14.0],
]
_H6_P = [
    [0.1312, 0.1696, 0.5569, 0.0124, 0.8283, 0.5886],
    [0.2329, 0.4135, 0.8307, 0.3736, 0.1004, 0.9991],
    [0.2348, 0.1451, 0.3522, 0.2883, 0.3047, 0.6650],
    [0.4047, 0.8828, 0.8732, 0.5743, 0.1091, 0.0381],
]


def _hartmann(a, p, x):
    return -sum(
        _ALPHA[i] * math.exp(-sum(a[i][j] * (x[j] - p[i][j]) ** 2 for j in range(len(x))))
        for i in range(4)
    )


def hartmann3(x):
    return _hartmann(_H3_A, _H3_P, x)


def hartmann6(x):
    return _hartmann(_H6_A, _H6_P, x)


def rosenbrock(x):
    return sum(100.0 * (x[i + 1] - x[i] ** 2) ** 2 + (x[i] - 1.0) ** 2 for i in range(len(x) - 1))


def ackley(x):
    a, b, c = 20.0, 0.2, 2.0 * math.pi
    d = len(x)
    squares = sum(v * v for v in x)
    cosines = sum(math.cos(c * v) for v in x)
    return -a * math.exp(-b * math.sqrt(squares / d)) - math.exp(cosines / d) + a + math.e


def levy(x):
    w = [1.0 + (v - 1.0) / 4.0 for v in x]
    last = w[-1]
    middle = sum((wi - 1.0) ** 2 * (1.0 + 10.0 * math.sin(math.pi * wi + 1.0) ** 2) for wi in w[:-1])
    return math.sin(math.pi * w[0]) ** 2 + middle + (last - 1.0) ** 2 * (1.0 + math.sin(2.0 * math.pi * last) ** 2)


def styblinski_tang(x):
    return 0.5 * sum(v**4 - 16.0 * v * v + 5.0 * v for v in x)


def rastrigin(x):
    return 10.0 * len(x) + sum(v * v - 10.0 * math.cos(2.0 * math.pi * v) for v in x)


def griewank(x):
    s = sum(v * v / 4000.0 for v in x)
    prod = 1.0
    for i, v in enumerate(x):
        prod *= math.cos(v / math.sqrt(i + 1))
    return s - prod + 1.0


# name: (function, bounds of coordinate i, fixed dim or None, default dim, optimum(dim))
SYNTHETIC: dict[str, tuple[Callable, Callable[[int], tuple[float, float]], int | None, int, Callable[[int], float]]] = {
    "branin": (branin, lambda i: (-5.0, 10.0) if i == 0 else (0.0, 15.0), 2, 2, lambda d: 0.3978873577297383),
    "hartmann3": (hartmann3, lambda i: (0.0, 1.0), 3, 3, lambda d: -3.862782147820755),
    "hartmann6": (hartmann6, lambda i: (0.0, 1.0), 6, 6, lambda d: -3.322368011415515),
    "rosenbrock": (rosenbrock, lambda i: (-5.0, 10.0), None, 2, lambda d: 0.0),
    "ackley": (ackley, lambda i: (-32.768, 32.768), None, 2, lambda d: 0.0),
    "levy": (levy, lambda i: (-10.0, 10.0), None, 2, lambda d: 0.0),
    "styblinski_tang": (styblinski_tang, lambda i: (-5.0, 5.0), None, 2, lambda d: -39.16616570377141 * d),
    "rastrigin": (rastrigin, lambda i: (-5.12, 5.12), None, 2, lambda d: 0.0),
    "griewank": (griewank, lambda i: (-600.0, 600.0), None, 2, lambda d: 0.0),
}

# ---------------------------------------------------------------------------------------------
# Problems


@dataclass
class Param:
    name: str
    kind: str  # "float", "int" (ordinal index), "categorical"
    low: float = 0.0
    high: float = 0.0
    choices: list[Any] = field(default_factory=list)


@dataclass
class Problem:
    """A problem as the harness sees it: a space, a direction, an optimum, and an evaluation that
    returns (observed value, quality)."""

    label: str
    objective: str
    settings: dict[str, Any]
    params: list[Param]
    direction: str
    optimum: float | None
    evaluate: Callable[[dict[str, Any], int, int], tuple[float, float]]  # (params, seed, trial)

    def suggest(self, trial) -> dict[str, Any]:
        out = {}
        for p in self.params:
            if p.kind == "float":
                out[p.name] = trial.suggest_float(p.name, p.low, p.high)
            elif p.kind == "int":
                out[p.name] = trial.suggest_int(p.name, int(p.low), int(p.high))
            else:
                out[p.name] = trial.suggest_categorical(p.name, p.choices)
        return out


class Unsupported(Exception):
    """A problem this script cannot reproduce (an objective only hyperplug has)."""


def synthetic(label: str, objective: str, settings: dict[str, Any]) -> Problem:
    fn, bounds, fixed, default_dim, optimum = SYNTHETIC[objective]
    unknown = set(settings) - {"dim"}
    if unknown:
        raise Unsupported(f"{label}: settings {sorted(unknown)} are not reproduced here")
    dim = int(settings.get("dim", default_dim)) if fixed is None else fixed
    params = [Param(f"x{i}", "float", *bounds(i)) for i in range(dim)]

    def evaluate(values, seed, number):
        v = fn([values[f"x{i}"] for i in range(dim)])
        return v, v

    return Problem(label, objective, settings, params, "minimize", optimum(dim), evaluate)


class Table:
    """A long-form lookup table read once: rows by configuration (a tuple of typed values)."""

    _cache: dict[tuple[str, str], "Table"] = {}

    def __init__(self, path: str, space_path: str):
        with open(space_path) as f:
            self.space = json.load(f)
        self.params = list(self.space["params"].items())
        self.metrics = dict(self.space["metrics"])
        types = {"int": int, "float": float, "str": str, "bool": lambda s: s in ("true", "True", "1")}
        opener = gzip.open if open(path, "rb").read(2) == b"\x1f\x8b" else open
        rows: dict[tuple, list[tuple[int, dict[str, float]]]] = {}
        with opener(path, "rt", newline="") as f:
            reader = csv.DictReader(f)
            for row in reader:
                key = tuple(types[spec["type"]](row[name]) for name, spec in self.params)
                metrics = {m: float(row[m]) for m in self.metrics}
                rows.setdefault(key, []).append((int(row["seed"]), metrics))
        for samples in rows.values():
            samples.sort(key=lambda s: s[0])
        self.rows = rows

    @classmethod
    def cached(cls, path: str, space_path: str) -> "Table":
        key = (os.path.realpath(path), os.path.realpath(space_path))
        if key not in cls._cache:
            cls._cache[key] = Table(path, space_path)
        return cls._cache[key]

    def mean(self, key, metric):
        samples = self.rows[key]
        return sum(s[1][metric] for s in samples) / len(samples)


def table(label: str, settings: dict[str, Any]) -> Problem:
    import numpy as np  # only table problems need it

    path = settings["path"]
    space_path = settings.get("space", os.path.join(os.path.dirname(path), "space.json"))
    t = Table.cached(path, space_path)
    metric = settings.get("metric", t.space.get("main_metric"))
    direction = t.metrics[metric]
    mode = settings.get("mode", "noisy")
    encoding = settings.get("encoding", "categorical")
    means = [t.mean(k, metric) for k in t.rows]
    optimum = settings.get("optimum", max(means) if direction == "maximize" else min(means))
    params = []
    for name, spec in t.params:
        if encoding == "ordinal" and spec["type"] in ("int", "float"):
            params.append(Param(name, "int", 0, len(spec["choices"]) - 1))
        else:
            params.append(Param(name, "categorical", choices=list(spec["choices"])))
    noise_seed = settings.get("noise_seed", 0)

    def evaluate(values, seed, number):
        key = []
        for (name, spec), p in zip(t.params, params):
            v = values[name]
            key.append(spec["choices"][v] if p.kind == "int" else v)
        key = tuple(key)
        if key not in t.rows:
            raise KeyError(f"configuration {key} is not in the table")
        mean = t.mean(key, metric)
        if mode == "mean":
            return mean, mean
        ns = seed if noise_seed == "{seed}" else int(noise_seed)
        samples = t.rows[key]
        k = int(np.random.default_rng([ns, number]).integers(len(samples)))
        return samples[k][1][metric], mean

    return Problem(label, "table", settings, params, direction, optimum, evaluate)


def problem(spec: dict[str, Any]) -> Problem:
    """A problem from a suite's [[problem]] table."""
    spec = dict(spec)
    if "study" in spec:
        raise Unsupported(f"{spec.get('label', spec['study'])}: study-file problems run in hyperplug only")
    objective = spec.pop("objective")
    label = spec.pop("label", objective)
    for reserved in ("direction", "quality_attr"):
        spec.pop(reserved, None)
    if objective in SYNTHETIC:
        return synthetic(label, objective, spec)
    if objective == "table":
        return table(label, spec)
    raise Unsupported(f"{label}: objective `{objective}` is not reproduced in Python")
