#!/usr/bin/env python3
"""Mean ± standard error of the regret (and of the best value, and the median) per problem and
(system, strategy), from JSON lines of `hyperplug bench`, bench/compare and the TPE crate's
`conditional` example. A run repeated in several files (same system, strategy, problem, budget,
seed) counts once. TPE's held-out tables in docs/BENCHMARKS.md are made with it:

    python bench/compare/summary.py results/ord-*.jsonl [--seeds 1000..1500] [--value]

`--value` reports the best value instead of the regret; `--seeds` keeps only those seeds.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("files", nargs="+")
    ap.add_argument("--seeds", help="A..B: keep seeds A to B-1 only")
    ap.add_argument("--value", action="store_true", help="the best value rather than the regret")
    args = ap.parse_args()
    lo, hi = (int(x) for x in args.seeds.split("..")) if args.seeds else (-math.inf, math.inf)
    runs: dict[tuple, dict[int, float]] = {}
    for path in args.files:
        with open(path) as f:
            for line in f:
                r = json.loads(line)
                if r.get("kind", "quality") != "quality" or not lo <= r["seed"] < hi:
                    continue
                x = r.get("best_value") if args.value else r.get("regret")
                if x is None:
                    continue
                key = (r["problem"], r["budget"], r["system"], r["strategy"])
                runs.setdefault(key, {})[r["seed"]] = x
    if not runs:
        sys.exit("no quality records with that filter")
    what = "best value" if args.value else "regret"
    print(f"| problem | system | strategy | runs | mean {what} ± se | median |")
    print("|---|---|---|---:|---:|---:|")
    for (problem, budget, system, strategy), by_seed in sorted(runs.items()):
        xs = list(by_seed.values())
        mean = statistics.fmean(xs)
        se = statistics.stdev(xs) / math.sqrt(len(xs)) if len(xs) > 1 else float("nan")
        print(
            f"| {problem} @{budget} | {system} | {strategy} | {len(xs)} | "
            f"{mean:.4g} ± {se:.2g} | {statistics.median(xs):.4g} |"
        )


if __name__ == "__main__":
    main()
