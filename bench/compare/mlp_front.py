#!/usr/bin/env python3
"""NSGA-II against MOTPE on the `mlp` objective's accuracy and training time (two objectives).

Runs `hyperplug run --json --storage memory` once per strategy and seed on one study (the
template below), then compares the Pareto fronts of the complete trials: the hypervolume of
each run's front against one reference point shared by every run (the worst accuracy and the
longest training time of all complete trials of all runs, so that no run's figure depends on
another's reference), a markdown table, and an SVG figure of the fronts.

    python3 bench/compare/mlp_front.py --hyperplug target/release/hyperplug \
        --seeds 0,1,2 --trials 60 --out results/mlp-front

Training time is wall-clock seconds, so it moves with the machine's load: compare only runs
made together. Only the standard library is used (the figure is written by hand).
"""

import argparse
import json
import math
import os
import statistics
import subprocess
import sys

STUDY = """\
[study]
name = "mlp-front-{strategy}-{seed}"
trials = {trials}
seed = {seed}                   # directions come from the objective: maximize, minimize

[strategy]
name = "{strategy}"
{strategy_settings}
[objective]
name = "mlp"
dataset = "{dataset}"
folds = {folds}
metrics = ["accuracy", "train_time"]
max_epochs = {max_epochs}       # epochs from 10 to this
threads = 1

[resources]
cpus = 1
"""

# MOTPE is `tpe` with two objectives; NSGA-II gets a population that fits the small budget
# (its default of 30 would leave one generation of children at 60 trials).
STRATEGIES = {"nsga2": "population = 10\n", "tpe": ""}
LABELS = {"nsga2": "NSGA-II", "tpe": "MOTPE"}
COLOURS = {"nsga2": "#d62728", "tpe": "#1f77b4"}


def front(points):
    """The non-dominated (accuracy up, time down) points, by increasing time."""
    out = []
    for acc, t in sorted(points, key=lambda p: (p[1], -p[0])):
        if not out or acc > out[-1][0]:
            out.append((acc, t))
    return out


def hypervolume(points, ref):
    """Exact 2-D hypervolume dominated by `points` and bounded by `ref` (accuracy, time)."""
    hv, best_acc = 0.0, ref[0]
    pts = [p for p in front(points) if p[0] > ref[0] and p[1] < ref[1]]
    # Sweep from the longest time down: each point adds the slab above the accuracies so far.
    for acc, t in reversed(pts):
        if acc > best_acc:
            hv += (acc - best_acc) * (ref[1] - t)
            best_acc = acc
    return hv


def run(args, strategy, seed):
    path = os.path.join(args.out, f"{strategy}-{seed}.json")
    if os.path.exists(path) and not args.rerun:
        with open(path) as f:
            return json.load(f)
    study = os.path.join(args.out, f"{strategy}-{seed}.toml")
    with open(study, "w") as f:
        f.write(STUDY.format(strategy=strategy, seed=seed, trials=args.trials,
                             dataset=args.dataset, folds=args.folds, max_epochs=args.max_epochs,
                             strategy_settings=STRATEGIES[strategy]))
    res = subprocess.run([args.hyperplug, "run", study, "--storage", "memory", "--json", "-q"],
                         capture_output=True, text=True)
    if res.returncode != 0:
        sys.exit(f"hyperplug run {study} failed ({res.returncode}): {res.stderr.strip()}")
    with open(path, "w") as f:
        f.write(res.stdout)
    return json.loads(res.stdout)


def svg(runs, ref, path):
    w, h, pad = 640, 420, 60
    pts = [p for r in runs for p in r["points"]]
    # Training times span orders of magnitude: a log axis.
    lo = math.floor(math.log10(max(min(p[1] for p in pts), 1e-6)))
    hi = math.ceil(math.log10(max(p[1] for p in pts)))
    hi = max(hi, lo + 1)
    tmax = 10.0**hi
    amin = min(p[0] for p in pts)
    amin = max(0.0, amin - 0.02)
    x = lambda t: pad + (w - 2 * pad) * (math.log10(max(t, 10.0**lo)) - lo) / (hi - lo)
    y = lambda a: h - pad - (h - 2 * pad) * (a - amin) / (1.0 - amin)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
           'font-family="sans-serif" font-size="12">',
           f'<rect width="{w}" height="{h}" fill="white"/>',
           f'<line x1="{pad}" y1="{h - pad}" x2="{w - pad}" y2="{h - pad}" stroke="black"/>',
           f'<line x1="{pad}" y1="{pad}" x2="{pad}" y2="{h - pad}" stroke="black"/>',
           f'<text x="{w / 2}" y="{h - 20}" text-anchor="middle">training time (s, all folds, log scale)</text>',
           f'<text x="16" y="{h / 2}" transform="rotate(-90 16 {h / 2})" text-anchor="middle">'
           'cross-validated accuracy</text>']
    for e in range(lo, hi + 1):
        out.append(f'<text x="{x(10.0**e):.1f}" y="{h - pad + 16}" text-anchor="middle">'
                   f'{10.0**e:g}</text>')
    for i in range(6):
        a = amin + (1.0 - amin) * i / 5
        out.append(f'<text x="{pad - 6}" y="{y(a) + 4:.1f}" text-anchor="end">{a:.3f}</text>')
    for r in runs:
        c = COLOURS[r["strategy"]]
        for a, t in r["points"]:
            out.append(f'<circle cx="{x(t):.1f}" cy="{y(a):.1f}" r="2" fill="{c}" opacity="0.25"/>')
        # The front as a staircase: what the run attains at each time.
        f = front(r["points"])
        d = f"M{x(f[0][1]):.1f},{y(amin):.1f}"
        prev = None
        for a, t in f:
            if prev is not None:
                d += f" L{x(t):.1f},{y(prev):.1f}"
            d += f" L{x(t):.1f},{y(a):.1f}"
            prev = a
        d += f" L{x(tmax):.1f},{y(prev):.1f}"
        out.append(f'<path d="{d}" fill="none" stroke="{c}" stroke-width="1.5" opacity="0.8"/>')
    for i, s in enumerate(STRATEGIES):
        out.append(f'<rect x="{w - pad - 110}" y="{pad + 18 * i}" width="12" height="12" '
                   f'fill="{COLOURS[s]}"/>')
        out.append(f'<text x="{w - pad - 92}" y="{pad + 18 * i + 10}">{LABELS[s]} (one line per seed)</text>')
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--hyperplug", default="target/release/hyperplug")
    p.add_argument("--seeds", default="0,1,2", help="comma-separated")
    p.add_argument("--trials", type=int, default=60)
    p.add_argument("--dataset", default="wine")
    p.add_argument("--folds", type=int, default=3)
    p.add_argument("--max-epochs", type=int, default=20)
    p.add_argument("--out", default="results/mlp-front")
    p.add_argument("--rerun", action="store_true", help="run again even where a result exists")
    args = p.parse_args()
    os.makedirs(args.out, exist_ok=True)
    seeds = [int(s) for s in args.seeds.split(",")]
    runs = []
    # Seed by seed, the two strategies one after the other, so that load drifts hit both alike.
    for seed in seeds:
        for strategy in STRATEGIES:
            d = run(args, strategy, seed)
            pts = [tuple(t["values"]) for t in d["trials"] if t["state"] == "complete"]
            runs.append({"strategy": strategy, "seed": seed, "points": pts})
    all_pts = [q for r in runs for q in r["points"]]
    ref = (min(q[0] for q in all_pts), max(q[1] for q in all_pts))
    lines = [f"Reference point: accuracy {ref[0]:.4f}, training time {ref[1]:.2f} s "
             f"(the worst of all {len(all_pts)} complete trials).", "",
             "| strategy | seed | complete | front size | hypervolume | best accuracy | fastest s |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    by = {s: [] for s in STRATEGIES}
    for r in runs:
        hv = hypervolume(r["points"], ref)
        by[r["strategy"]].append(hv)
        f = front(r["points"])
        lines.append(f"| {LABELS[r['strategy']]} | {r['seed']} | {len(r['points'])} | {len(f)} | "
                     f"{hv:.4f} | {max(a for a, _ in f):.4f} | {min(t for _, t in f):.2f} |")
    lines.append("")
    for s, hvs in by.items():
        lines.append(f"- {LABELS[s]}: median hypervolume {statistics.median(hvs):.4f} "
                     f"(seeds {', '.join(f'{v:.4f}' for v in hvs)})")
    svg(runs, ref, os.path.join(args.out, "mlp-front.svg"))
    text = "\n".join(lines) + "\n"
    with open(os.path.join(args.out, "mlp-front.md"), "w") as f:
        f.write(text)
    print(text, end="")


if __name__ == "__main__":
    main()
