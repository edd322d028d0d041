#!/usr/bin/env python3
"""The epochs each method spends to reach full-budget random search's accuracy on `mlp`.

Reads the JSON lines of `strategies/bohb/examples/mlp_budget.rs` (one per method and seed) and
prints a markdown table. The target accuracy is the median, over seeds, of the best 5-fold CV
accuracy that full-budget random search (`random`, no MAX_SPENT) reaches with its trials. For
each run of a method, the epochs spent (by all its trials, pruned ones included) when a complete
trial first reached the target (no more misclassified rows; see TOL); a run that never did counts as infinitely many (it lost), so a
median is finite only when more than half the seeds reached it. The ratio is that median over
random search's total epochs (trials × epochs). The paired column does the same against each
seed's own random-search best instead of the median. The last columns read the target the
other way round: each run's best accuracy among the trials complete by the time it had spent the
target share of random search's epochs, median over seeds, beside random search's median best.

    python3 bench/pruners/mlp_budget_table.py results/mlp-budget.jsonl [--epochs 27]

Standard library only.
"""

import argparse
import json
import math
import statistics

# Reaching an accuracy means misclassifying no more rows: the CV accuracy is the mean over folds
# of 359 or 360 rows, so one error more moves it by about 1/1800 = 5.6e-4, while the same count
# of errors spread differently over the folds moves it by under 1e-5.
TOL = 1e-4
# The targets of the issue: at most this share of random search's epochs.
# Hyperband and ASHA are held to 1/5 whichever sampler proposes their trials.
TARGETS = {"random-hyperband": 1 / 5, "random-asha": 1 / 5, "tpe-median": 1 / 3,
           "tpe-hyperband": 1 / 5, "tpe-asha": 1 / 5, "bohb-hyperband": 1 / 5}
ORDER = ["random", "random-hyperband", "random-asha", "tpe-median", "tpe-hyperband", "tpe-asha",
         "bohb-hyperband"]


def first_reach(run, target):
    """Epochs spent when a complete trial first reached `target`; inf if none did."""
    for spent, acc in run["complete"]:
        if acc >= target - TOL:
            return spent
    return math.inf


def best_within(run, budget):
    """The best accuracy of the trials complete once `budget` epochs were spent; nan if none."""
    return max((a for spent, a in run["complete"] if spent <= budget), default=float("nan"))


def fmt(x, digits=0):
    if math.isinf(x):
        return "not reached"
    return f"{x:,.{digits}f}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+")
    parser.add_argument("--epochs", type=int, help="only runs with this max resource")
    args = parser.parse_args()
    runs = []
    for path in args.files:
        with open(path) as f:
            runs += [json.loads(line) for line in f if line.strip()]
    if args.epochs:
        runs = [r for r in runs if r["epochs"] == args.epochs]
    baseline = {r["seed"]: r for r in runs if r["method"] == "random" and not r.get("max_spent")}
    if not baseline:
        raise SystemExit("no full-budget random-search run (method `random` without MAX_SPENT)")
    best = {s: max(a for _, a in r["complete"]) for s, r in baseline.items()}
    target = statistics.median(best.values())
    total = statistics.median(r["total_epochs"] for r in baseline.values())
    epochs = sorted({r["epochs"] for r in runs})
    print(f"Random search (full budget): {len(baseline)} seeds, {total:g} epochs each "
          f"(max resource {', '.join(map(str, epochs))}); best accuracy per seed "
          f"{', '.join(f'{best[s]:.4f}' for s in sorted(best))}; target (median) {target:.4f}.\n")
    print("| method | seeds | reached target | epochs to target, median (per seed) | "
          "ratio to random's total | target ratio | met | paired: median ratio | "
          "best accuracy, median | epochs spent per run, median | pruned per run, median | "
          "best within the target share, median (per seed) | ≥ target |")
    print("|---|---:|---:|---|---:|---:|---|---:|---:|---:|---:|---|---|")
    methods = sorted({r["method"] for r in runs},
                     key=lambda m: ORDER.index(m) if m in ORDER else len(ORDER))
    for m in methods:
        rs = sorted((r for r in runs if r["method"] == m), key=lambda r: r["seed"])
        reach = [first_reach(r, target) for r in rs]
        paired = [first_reach(r, best[r["seed"]]) / total for r in rs if r["seed"] in best]
        med = statistics.median(reach)
        ratio = med / total
        # A verdict only for a method run on every seed of the baseline.
        goal = TARGETS.get(m) if len(rs) >= len(baseline) else None
        met = "" if goal is None else ("yes" if ratio <= goal else "no")
        per_seed = ", ".join("–" if math.isinf(x) else f"{x:g}" for x in reach)
        bests = [max((a for _, a in r["complete"]), default=float("nan")) for r in rs]
        print(f"| `{m}` | {len(rs)} | {sum(not math.isinf(x) for x in reach)} | "
              f"{fmt(med)} ({per_seed}) | {fmt(ratio, 3)} | "
              f"{'' if goal is None else f'{goal:.3f}'} | {met} | "
              f"{fmt(statistics.median(paired), 3) if paired else ''} | "
              f"{statistics.median(bests):.4f} | "
              f"{statistics.median(r['total_epochs'] for r in rs):g} | "
              f"{statistics.median(r['pruned'] for r in rs):g} | {' | '.join(within(rs, goal, total, target))} |")


def within(rs, goal, total, target):
    """The two cells of the equal-budget reading: empty for methods without a target share."""
    if goal is None:
        return "", ""
    bests = [best_within(r, goal * total) for r in rs]
    # nan (nothing complete in time) sorts as the worst result.
    med = statistics.median([-1.0 if math.isnan(b) else b for b in bests])
    per_seed = ", ".join("–" if math.isnan(b) else f"{b:.4f}" for b in bests)
    return f"{med:.4f} ({per_seed})", "yes" if med >= target - TOL else "no"


if __name__ == "__main__":
    main()
