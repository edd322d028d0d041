#!/usr/bin/env python3
"""Runs a hyperplug benchmark suite (bench/suites/*.toml) with Optuna's or Rustuna's samplers and
writes the same JSON lines as `hyperplug bench`, so that `hyperplug bench report` puts every system
in one table.

    python bench/compare/run.py --suite bench/suites/synthetic.toml --system optuna \
        --samplers random,tpe,cmaes --out results/optuna.jsonl

Seeds and budgets come from the suite unless given; problems are the suite's (synthetic functions
and tables; problems only hyperplug can run are skipped with a note). Run from the repository
root, like `hyperplug bench`, so that relative table paths resolve alike.
"""

from __future__ import annotations

import argparse
import os
import sys
import tomllib
from concurrent.futures import ProcessPoolExecutor, as_completed

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import common  # noqa: E402
import problems  # noqa: E402


def seeds_of(value) -> list[int]:
    if isinstance(value, int):
        return list(range(value))
    if isinstance(value, list):
        return [int(s) for s in value]
    text = str(value)
    if ".." in text:
        a, b = text.split("..")
        return list(range(int(a), int(b)))
    if "," in text:
        return [int(s) for s in text.split(",")]
    return list(range(int(text)))


def one_run(system: str, label: str, spec: dict, seed: int, budget: int) -> str:
    # Single-threaded numerics, like hyperplug's single-threaded runs.
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    if label == "gp":
        import torch

        torch.set_num_threads(1)
    problem = problems.problem(spec)
    study = common.create_study(system, common.sampler(system, label, seed), problem.direction)
    measured = common.run(
        system,
        study,
        problem.suggest,
        lambda params, number: problem.evaluate(params, seed, number),
        budget,
        problem.direction,
    )
    return common.record(
        kind="quality",
        system=system,
        system_version=common.version(system),
        strategy=label,
        strategy_name=label,
        strategy_settings={},
        problem=problem.label,
        objective=problem.objective,
        problem_settings=problem.settings,
        direction=problem.direction,
        seed=seed,
        budget=budget,
        optimum=problem.optimum,
        regret=common.regret(problem.direction, measured["best_value"], problem.optimum),
        **measured,
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--suite", required=True, help="a hyperplug suite file")
    ap.add_argument("--system", choices=["optuna", "rustuna"], required=True)
    ap.add_argument("--samplers", required=True, help=f"comma-separated; optuna: {','.join(common.OPTUNA_SAMPLERS)}; rustuna: {','.join(common.RUSTUNA_SAMPLERS)}")
    ap.add_argument("--problems", help="comma-separated problem labels of the suite (default: all)")
    ap.add_argument("--seeds", help="N, A..B or A,B,C (default: the suite's)")
    ap.add_argument("--budgets", help="comma-separated (default: the suite's)")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="processes at once")
    ap.add_argument("--out", required=True, help="JSON-lines file to write")
    ap.add_argument("--append", action="store_true")
    args = ap.parse_args()

    with open(args.suite, "rb") as f:
        suite = tomllib.load(f)
    seeds = seeds_of(args.seeds if args.seeds else suite.get("seeds", 10))
    budgets = [int(b) for b in args.budgets.split(",")] if args.budgets else suite.get("budgets", [100])
    wanted = set(args.problems.split(",")) if args.problems else None
    specs = []
    for spec in suite.get("problem", []):
        label = spec.get("label", spec.get("objective", spec.get("study")))
        if wanted is not None and label not in wanted:
            continue
        try:
            problems.problem(spec)  # load tables once here, and refuse what cannot run
        except problems.Unsupported as e:
            print(f"skipped: {e}", file=sys.stderr)
            continue
        specs.append(spec)
    samplers = args.samplers.split(",")
    for s in samplers:
        common.sampler(args.system, s, 0)  # refuse unknown names before any run
    jobs = [(args.system, s, spec, seed, b) for b in budgets for spec in specs for s in samplers for seed in seeds]
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "a" if args.append else "w") as out, ProcessPoolExecutor(args.jobs) as pool:
        futures = [pool.submit(one_run, *job) for job in jobs]
        for done, f in enumerate(as_completed(futures), 1):
            out.write(f.result() + "\n")
            out.flush()
            print(f"\r{done}/{len(jobs)} runs", end="", file=sys.stderr)
    print(f"\nwrote {len(jobs)} records to {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
