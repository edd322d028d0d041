#!/usr/bin/env python3
"""Optuna's NSGAIISampler, NSGAIIISampler and MOTPE (TPESampler) on ZDT1-3 (30-D) and DTLZ2
(12-D, three objectives): one JSON line per (sampler, problem, seed, checkpoint) with the
hypervolume of the complete trials' front against the reference point (1.1 in every objective;
points beyond it ignored) and the sampler's seconds up to that checkpoint (each trial's wall time
minus the objective's, as run.py counts it). The same lines as hyperplug's
`cargo run --release -p hyperplug-nsga --example zdt`, so `summarize` puts them side by side.

    python bench/compare/multiobjective.py --samplers nsga2 --problems zdt1,zdt2,zdt3 \\
        --seeds 0..10 --checkpoints 1000,5000 --out results/mo-optuna.jsonl
    python bench/compare/multiobjective.py --summarize results/mo-*.jsonl
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from collections import defaultdict


def zdt(kind: int, x: list[float]) -> list[float]:
    f1 = x[0]
    g = 1.0 + 9.0 * sum(x[1:]) / (len(x) - 1)
    r = f1 / g
    if kind == 1:
        return [f1, g * (1.0 - math.sqrt(r))]
    if kind == 2:
        return [f1, g * (1.0 - r * r)]
    return [f1, g * (1.0 - math.sqrt(r) - r * math.sin(10.0 * math.pi * f1))]


def dtlz2(x: list[float]) -> list[float]:
    g = sum((v - 0.5) ** 2 for v in x[2:])
    a, b = x[0] * math.pi / 2.0, x[1] * math.pi / 2.0
    return [
        (1.0 + g) * math.cos(a) * math.cos(b),
        (1.0 + g) * math.cos(a) * math.sin(b),
        (1.0 + g) * math.sin(a),
    ]


# name: (function, dimension, objectives)
PROBLEMS = {
    "zdt1": (lambda x: zdt(1, x), 30, 2),
    "zdt2": (lambda x: zdt(2, x), 30, 2),
    "zdt3": (lambda x: zdt(3, x), 30, 2),
    "dtlz2": (dtlz2, 12, 3),
}


def area_2d(points: list[tuple[float, float]], rx: float, ry: float) -> float:
    area, best_y = 0.0, ry
    for x, y in sorted(points):
        if y < best_y:
            area += (rx - x) * (best_y - y)
            best_y = y
    return area


def hypervolume(points: list[list[float]], ref: list[float]) -> float:
    """Exact, 2 or 3 objectives: a sweep (3-D: slabs in ascending last objective)."""
    inside = [p for p in points if all(v < r for v, r in zip(p, ref))]
    if len(ref) == 2:
        return area_2d([(p[0], p[1]) for p in inside], ref[0], ref[1])
    inside.sort(key=lambda p: p[2])
    total = 0.0
    for k, p in enumerate(inside):
        nxt = inside[k + 1][2] if k + 1 < len(inside) else ref[2]
        if nxt > p[2]:
            total += area_2d([(q[0], q[1]) for q in inside[: k + 1]], ref[0], ref[1]) * (nxt - p[2])
    return total


def front(points: list[list[float]]) -> list[list[float]]:
    """The non-dominated points, so the hypervolume works on few."""
    pts = sorted(points)
    out: list[list[float]] = []
    for p in pts:
        if not any(all(a <= b for a, b in zip(q, p)) and q != p for q in out):
            out = [q for q in out if not (all(a <= b for a, b in zip(p, q)) and q != p)]
            out.append(p)
    return out


def sampler(label: str, seed: int):
    import optuna

    s = optuna.samplers
    return {
        "nsga2": lambda: s.NSGAIISampler(seed=seed),
        "nsga3": lambda: s.NSGAIIISampler(seed=seed),
        "motpe": lambda: s.TPESampler(seed=seed),
        # Several objectives by LogEHVI (Optuna >= 4.4); needs torch.
        "gp": lambda: s.GPSampler(seed=seed),
    }[label]()


def one(label: str, problem: str, seed: int, checkpoints: list[int], dim: int | None = None) -> list[str]:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    fn, default_dim, m = PROBLEMS[problem]
    dim = dim or default_dim
    # A dimension other than the default is part of the label, as hyperplug's gp bench writes it.
    name = problem if dim == default_dim else f"{problem}-{dim}d"
    if label == "gp":
        import torch

        torch.set_num_threads(1)
    study = optuna.create_study(sampler=sampler(label, seed), directions=["minimize"] * m)
    ref = [1.1] * m
    values: list[list[float]] = []
    sampler_s = 0.0
    lines = []
    for n in range(1, max(checkpoints) + 1):
        t0 = time.perf_counter()
        trial = study.ask()
        x = [trial.suggest_float(f"x{i}", 0.0, 1.0) for i in range(dim)]
        t1 = time.perf_counter()
        v = fn(x)
        t2 = time.perf_counter()
        study.tell(trial, v)
        t3 = time.perf_counter()
        sampler_s += (t3 - t0) - (t2 - t1)
        values.append(v)
        if n in checkpoints:
            hv = hypervolume(front(values), ref)
            lines.append(json.dumps({
                "system": "optuna", "version": optuna.__version__, "strategy": label,
                "problem": name, "seed": seed, "trials": n, "hypervolume": hv,
                "sampler_s": sampler_s,
            }))
    return lines


def seeds_of(text: str) -> list[int]:
    if ".." in text:
        a, b = text.split("..")
        return list(range(int(a), int(b)))
    return [int(s) for s in text.split(",")]


def summarize(paths: list[str]) -> None:
    rows = defaultdict(list)
    seen = set()
    for path in paths:
        with open(path) as f:
            for line in f:
                r = json.loads(line)
                run = (r["system"], r["strategy"], r["problem"], r["seed"], r["trials"])
                if run in seen:  # a repeated run (an interrupted script run again) counts once
                    continue
                seen.add(run)
                key = (r["problem"], r["trials"], f'{r["system"]} {r["strategy"]}')
                rows[key].append(r)
    print("| problem | trials | system | runs | median hypervolume [min – max] | median sampler s |")
    print("|---|---:|---|---:|---|---:|")
    for (problem, trials, system), rs in sorted(rows.items()):
        hv = [r["hypervolume"] for r in rs]
        t = [r["sampler_s"] for r in rs]
        print(
            f"| {problem} | {trials} | {system} | {len(rs)} | {statistics.median(hv):.4f} "
            f"[{min(hv):.4f} – {max(hv):.4f}] | {statistics.median(t):.4f} |"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--samplers", default="nsga2")
    ap.add_argument("--problems", default="zdt1,zdt2,zdt3")
    ap.add_argument("--seeds", default="0..10")
    ap.add_argument("--checkpoints", default="1000,5000")
    ap.add_argument("--dim", type=int, help="the problems' dimension (default: 30 for ZDT, 12 for DTLZ2)")
    ap.add_argument("--out")
    ap.add_argument("--summarize", nargs="*")
    a = ap.parse_args()
    if a.summarize:
        summarize(a.summarize)
        return
    checkpoints = [int(c) for c in a.checkpoints.split(",")]
    out = open(a.out, "a") if a.out else sys.stdout
    for label in a.samplers.split(","):
        for problem in a.problems.split(","):
            for seed in seeds_of(a.seeds):
                for line in one(label, problem, seed, checkpoints, a.dim):
                    print(line, file=out, flush=True)


if __name__ == "__main__":
    main()
