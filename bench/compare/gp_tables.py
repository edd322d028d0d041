#!/usr/bin/env python3
"""Tables for docs/BENCHMARKS.md's GP section from the JSON lines of gp.sh: median best value at
50 and 100 trials per problem, hyperplug's `gp` and `tpe` (strategies/gp/examples/bench.rs) beside
Optuna's GPSampler (bench/compare/run.py, whose 100-trial runs give the 50-trial value through
`best_so_far`); and 1 against 4 workers at equal wall time.

    python bench/compare/gp_tables.py quality results/gp-quality.jsonl results/gp-optuna.jsonl
    python bench/compare/gp_tables.py paired results/gp-quality.jsonl results/gp-optuna.jsonl  # same seeds
    python bench/compare/gp_tables.py parallel results/gp-parallel-*.jsonl
"""

from __future__ import annotations

import json
import statistics
import sys
from collections import defaultdict

ORDER = [
    "branin", "hartmann6", "rosenbrock10", "ackley10", "levy10", "styblinski_tang10",
    "hartmann3", "rastrigin10", "griewank10",
]


def quality(paths: list[str], paired: bool = False) -> None:
    """With `paired`, each problem's medians are over the seeds that every system ran."""
    best = defaultdict(dict)  # (problem, system, budget) -> {seed: value}
    for path in paths:
        for line in open(path):
            r = json.loads(line)
            if "best50" in r:  # hyperplug's bench example
                for b in (50, 100):
                    best[(r["problem"], f"hyperplug {r['strategy']}", b)][r["seed"]] = r[f"best{b}"]
            elif r.get("kind") == "quality" and r.get("budget") == 100:
                so_far = r["best_so_far"]
                for b in (50, 100):
                    best[(r["problem"], f"{r['system']} {r['strategy']}", b)][r["seed"]] = so_far[b - 1]
    systems = sorted({k[1] for k in best})
    if paired:
        for p in {k[0] for k in best}:
            runs = [best.get((p, s, 100), {}) for s in systems]
            common = set.intersection(*(set(r) for r in runs)) if all(runs) else set()
            for key in [k for k in best if k[0] == p]:
                best[key] = {seed: v for seed, v in best[key].items() if seed in common}
    head = " | ".join(f"{s} @{b}" for b in (50, 100) for s in systems)
    print(f"| problem | {head} |")
    print("|---|" + "---:|" * (2 * len(systems)))
    for p in ORDER:
        if not any(k[0] == p for k in best):
            continue
        cells = []
        for b in (50, 100):
            for s in systems:
                v = best.get((p, s, b), {})
                cells.append(f"{statistics.median(v.values()):.5g} ({len(v)})" if v else "–")
        print(f"| {p} | " + " | ".join(cells) + " |")


def parallel(paths: list[str]) -> None:
    rows = defaultdict(list)
    for path in paths:
        for line in open(path):
            r = json.loads(line)
            rows[(r["problem"], r["workers"], r["batch"])].append(r)
    print("| problem | workers | batch | runs | median trials | median best | min / 10th pct / median distance to the nearest running trial (length scales) |")
    print("|---|---:|---|---:|---:|---:|---|")
    for (p, w, b), rs in sorted(rows.items(), key=lambda kv: (ORDER.index(kv[0][0]), kv[0][1], kv[0][2])):
        mins = [r["min_length_scales"] for r in rs if r["min_length_scales"] is not None]
        p10 = [r["p10_length_scales"] for r in rs if r["p10_length_scales"] is not None]
        med = [r["median_length_scales"] for r in rs if r["median_length_scales"] is not None]
        dist = f"{min(mins):.3g} / {statistics.median(p10):.3g} / {statistics.median(med):.3g}" if mins else "–"
        print(
            f"| {p} | {w} | {b} | {len(rs)} | {statistics.median(r['trials'] for r in rs):.0f} | "
            f"{statistics.median(r['best'] for r in rs):.5g} | {dist} |"
        )


if __name__ == "__main__":
    if sys.argv[1] == "paired":
        quality(sys.argv[2:], paired=True)
    else:
        {"quality": quality, "parallel": parallel}[sys.argv[1]](sys.argv[2:])
