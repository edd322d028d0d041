#!/usr/bin/env python3
"""CMA-ES beside Optuna's CmaEsSampler on many seeds, read as the issue reads it: median best
value after 300 and 1,000 trials, per problem, over every block of 20 consecutive seeds and over
all of them, with a two-sided Mann-Whitney U test over all seeds. Reads the JSON lines of
1,000-trial runs (`hyperplug bench` and bench/compare/run.py); the 300-trial value is a run's best
after its first 300 trials (`best_so_far`), which equals a 300-trial run's: neither sampler
depends on the budget.

    python3 bench/compare/cmaes_blocks.py results/cmaes-hp-1000.jsonl results/cmaes-optuna-1000.jsonl

Standard library only.
"""

from __future__ import annotations

import json
import math
import statistics
import sys
from collections import defaultdict

BUDGETS = (300, 1000)
BLOCK = 20


def mann_whitney(x: list[float], y: list[float]) -> float:
    """Two-sided p-value of the U test, normal approximation with the tie correction."""
    pooled = sorted((v, i) for i, v in enumerate(x + y))
    ranks = [0.0] * len(pooled)
    ties = 0.0
    i = 0
    while i < len(pooled):
        j = i
        while j + 1 < len(pooled) and pooled[j + 1][0] == pooled[i][0]:
            j += 1
        for k in range(i, j + 1):
            ranks[pooled[k][1]] = (i + j) / 2 + 1
        t = j - i + 1
        ties += t**3 - t
        i = j + 1
    n1, n2 = len(x), len(y)
    u = sum(ranks[:n1]) - n1 * (n1 + 1) / 2
    n = n1 + n2
    sd = math.sqrt(n1 * n2 / 12 * ((n + 1) - ties / (n * (n - 1))))
    z = (abs(u - n1 * n2 / 2) - 0.5) / sd if sd > 0 else 0.0
    return math.erfc(max(z, 0.0) / math.sqrt(2))


def main() -> None:
    best = defaultdict(dict)  # (problem, budget, system) -> {seed: best value}
    for path in sys.argv[1:]:
        with open(path) as f:
            for line in f:
                r = json.loads(line)
                if r.get("kind") != "quality" or r["budget"] < max(BUDGETS):
                    continue
                for b in BUDGETS:
                    best[(r["problem"], b, r["system"])][r["seed"]] = r["best_so_far"][b - 1]
    systems = sorted({k[2] for k in best})
    if len(systems) != 2:
        raise SystemExit(f"need two systems, found {systems}")
    a, b = systems
    print(f"| problem | trials | seeds | {a} median | {b} median | blocks of {BLOCK} where {a} "
          f"≤ {b} | Mann-Whitney p |")
    print("|---|---:|---|---:|---:|---|---:|")
    for problem, budget in sorted({(k[0], k[1]) for k in best}):
        xa, xb = best[(problem, budget, a)], best[(problem, budget, b)]
        seeds = sorted(set(xa) & set(xb))
        blocks = [seeds[i:i + BLOCK] for i in range(0, len(seeds) - BLOCK + 1, BLOCK)]
        wins = [statistics.median(xa[s] for s in blk) <= statistics.median(xb[s] for s in blk)
                for blk in blocks]
        va, vb = [xa[s] for s in seeds], [xb[s] for s in seeds]
        print(f"| {problem} | {budget:,} | {seeds[0]}–{seeds[-1]} ({len(seeds)}) | "
              f"{statistics.median(va):.6g} | {statistics.median(vb):.6g} | "
              f"{sum(wins)} of {len(blocks)} | {mann_whitney(va, vb):.2g} |")


if __name__ == "__main__":
    main()
