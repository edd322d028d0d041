#!/usr/bin/env python3
"""Optuna's TPE on the conditional problems of strategies/tpe/tests/conditional/mod.rs (the same
spaces and functions, re-typed), writing the JSON lines of `hyperplug bench`, beside hyperplug's
`cargo run --release -p hyperplug-tpe --example conditional`:

    python bench/compare/conditional.py --samplers tpe,tpe-group,tpe-indep --seeds 1000..1200 \
        --out results/cond-optuna.jsonl [--problems plateau,models] [--jobs 2] [--append]
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from concurrent.futures import ProcessPoolExecutor, as_completed

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import common  # noqa: E402
from run import seeds_of  # noqa: E402


def plateau(trial) -> float:
    if trial.suggest_categorical("branch", ["a", "b"]) == "a":
        x = trial.suggest_float("x", 0.0, 1.0)
        k = trial.suggest_int("k", 1, 8)
        return 0.02 + 8.0 * (x - 0.73) ** 2 + 0.03 * abs(k - 6)
    y = trial.suggest_float("y", 1e-3, 1.0, log=True)
    m = trial.suggest_int("m", 0, 4)
    u = (math.log(y) - math.log(1e-3)) / -math.log(1e-3)
    return 0.095 + 0.01 * abs(m - 2) + 0.2 * max(0.15 - u, 0.0)


def models(trial) -> float:
    model = trial.suggest_categorical("model", ["linear", "tree", "net"])
    if model == "linear":
        a = math.log10(trial.suggest_float("alpha", 1e-5, 1.0, log=True)) + 2.0
        penalty = trial.suggest_categorical("penalty", ["l1", "l2", "elastic"])
        if penalty == "l1":
            p = 0.02
        elif penalty == "l2":
            p = 0.0
        else:
            p = 0.01 + 0.05 * (trial.suggest_float("l1_ratio", 0.0, 1.0) - 0.3) ** 2
        return 0.3 + 0.05 * a * a / 9.0 + p
    if model == "tree":
        d = (trial.suggest_int("depth", 1, 16) - 10.0) / 8.0
        leaf = math.log2(trial.suggest_int("min_leaf", 1, 128, log=True)) - 3.0
        return 0.2 + 0.15 * min(d * d, 1.0) + 0.05 * leaf * leaf / 16.0
    layers = trial.suggest_int("layers", 1, 5)
    width = trial.suggest_int("width", 16, 512, step=16)
    lr = math.log10(trial.suggest_float("lr", 1e-5, 0.1, log=True)) + 2.7
    w = (width - 272.0) / 496.0
    return 0.05 + 0.8 * lr * lr + 0.04 * abs(layers - 3) + 0.3 * w * w


PROBLEMS = {"plateau": (plateau, 0.02), "models": (models, 0.05)}


def one_run(name: str, label: str, seed: int, budget: int) -> str:
    import optuna

    fn, optimum = PROBLEMS[name]
    if label == "tpe-group":
        # Multivariate over each group of co-occurring parameters, as hyperplug's `tpe` models a
        # conditional space (Optuna's default `tpe` is multivariate only over the parameters
        # every trial has, here just the branch, and independent for the others).
        sampler = optuna.samplers.TPESampler(seed=seed, multivariate=True, group=True)
    else:
        sampler = common.sampler("optuna", label, seed)
    study = common.create_study("optuna", sampler, "minimize")
    best, best_trial, so_far = math.inf, 0, []
    for _ in range(budget):
        trial = study.ask()
        v = fn(trial)
        study.tell(trial, v)
        if v < best:
            best, best_trial = v, trial.number
        so_far.append(best)
    return common.record(
        kind="quality", system="optuna", system_version=optuna.__version__, strategy=label,
        strategy_name=label, strategy_settings={}, problem=f"conditional/{name}",
        objective="conditional", problem_settings={}, direction="minimize", seed=seed,
        budget=budget, trials=budget, complete=budget, failed=0, best_value=best,
        best_observed=best, best_trial=best_trial, optimum=optimum, regret=best - optimum,
        best_so_far=so_far,
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--samplers", default="tpe,tpe-group,tpe-indep")
    ap.add_argument("--problems", default="plateau,models")
    ap.add_argument("--seeds", default="0..40")
    ap.add_argument("--budget", type=int, default=100)
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--out", required=True)
    ap.add_argument("--append", action="store_true")
    args = ap.parse_args()
    jobs = [
        (p, s, seed, args.budget)
        for p in args.problems.split(",")
        for s in args.samplers.split(",")
        for seed in seeds_of(args.seeds)
    ]
    with open(args.out, "a" if args.append else "w") as out, ProcessPoolExecutor(args.jobs) as pool:
        for f in as_completed([pool.submit(one_run, *job) for job in jobs]):
            out.write(f.result() + "\n")
            out.flush()


if __name__ == "__main__":
    main()
