#!/usr/bin/env python3
"""TPE + Hyperband on the `mlp` objective: Optuna beside hyperplug, counting epochs.

The task is the `mlp` objective on digits (5-fold CV accuracy, epochs as the resource), trained
by the same Rust code on both sides: hyperplug runs it in-process (`mlp_budget tpe-hyperband`:
TPE + the `hyperband` pruner, `max_resource` = EPOCHS, rungs from 1 epoch, η = 3); Optuna
(`TPESampler(seed)` + `HyperbandPruner(min_resource=1, max_resource=EPOCHS,
reduction_factor=3)`, both with their defaults otherwise) samples the objective's default space
define-by-run and trains each trial in a `mlp_budget trial EPOCHS` process, which prints each
epoch's accuracy and waits for the pruning decision before the next epoch, so both sides count
exactly the epochs trained. The objective's value is a function of the parameters alone (its
seed, 0, fixes folds, weights, batch order and dropout), so the two systems differ only in
which configurations they try and when they stop them.

    cargo build --release -p hyperplug-bohb --example mlp_budget
    BIN=target/release/examples/mlp_budget
    for seed in 0 1 2 3 4; do
      python3 bench/compare/mlp_optuna.py run --bin $BIN --seed $seed --trials 30 --epochs 9
      RAYON_NUM_THREADS=1 $BIN tpe-hyperband $seed 30 9
    done >> bench/pruners/mlp-optuna.jsonl
    python3 bench/compare/mlp_optuna.py table bench/pruners/mlp-optuna.jsonl

`table` prints the runs per system, then each seed compared at equal epochs (see `equal_epochs`).

Needs optuna (5.0.0 measured); nothing else beyond the standard library.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

# The quality-per-epoch table's reading of a run: one definition of "best by a budget".
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "pruners"))
from mlp_budget_table import TOL, best_within  # noqa: E402


def suggest(trial):
    """The `mlp` objective's default space (objectives/nn/src/hyper.rs, `default_space`), less
    `epochs`, which the resource replaces."""
    p = {"lr": trial.suggest_float("lr", 1e-4, 0.1, log=True),
         "batch_size": trial.suggest_categorical("batch_size", [16, 32, 64, 128]),
         "optimizer": trial.suggest_categorical("optimizer", ["adam", "sgd"])}
    if p["optimizer"] == "sgd":
        p["momentum"] = trial.suggest_float("momentum", 0.0, 0.99)
    p["l1"] = trial.suggest_float("l1", 1e-8, 1e-3, log=True)
    p["l2"] = trial.suggest_float("l2", 1e-8, 1e-2, log=True)
    p["dropout"] = trial.suggest_float("dropout", 0.0, 0.5)
    p["layers"] = trial.suggest_int("layers", 1, 3)
    for k in range(1, p["layers"] + 1):
        p[f"units_{k}"] = trial.suggest_int(f"units_{k}", 16, 512, log=True)
    p["activation"] = trial.suggest_categorical("activation", ["relu", "tanh", "gelu"])
    return p


def cmd_run(args):
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    env = dict(os.environ, RAYON_NUM_THREADS="1")

    def objective(trial):
        proc = subprocess.Popen([args.bin, "trial", str(args.epochs), args.dataset],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                env=env)
        proc.stdin.write(json.dumps(suggest(trial)) + "\n")
        proc.stdin.flush()
        last = None
        for line in proc.stdout:
            msg = json.loads(line)
            if "step" in msg:
                trial.report(msg["value"], msg["step"])
                proc.stdin.write("prune\n" if trial.should_prune() else "go\n")
                proc.stdin.flush()
            else:
                last = msg
        proc.wait()
        if last is None or proc.returncode != 0:
            raise RuntimeError(f"mlp_budget trial exited with {proc.returncode}")
        if last.get("pruned"):
            raise optuna.TrialPruned()
        if "failed" in last:
            raise RuntimeError(last["failed"])
        return last["value"]

    study = optuna.create_study(
        direction="maximize",
        sampler=optuna.samplers.TPESampler(seed=args.seed),
        pruner=optuna.pruners.HyperbandPruner(min_resource=1, max_resource=args.epochs,
                                              reduction_factor=3),
    )
    started = time.perf_counter()
    study.optimize(objective, n_trials=args.trials, catch=(RuntimeError,))
    seconds = time.perf_counter() - started
    spent, curve = 0, []
    for t in study.trials:  # one at a time: number order is finish order
        spent += len(t.intermediate_values)
        if t.state == optuna.trial.TrialState.COMPLETE:
            curve.append([spent, t.value])
    pruned = sum(t.state == optuna.trial.TrialState.PRUNED for t in study.trials)
    print(json.dumps({
        "method": "optuna-tpe-hyperband", "seed": args.seed, "trials": len(study.trials),
        "epochs": args.epochs, "max_spent": None, "dataset": args.dataset, "pruned": pruned,
        "total_epochs": spent, "seconds": seconds, "complete": curve,
        "load": open("/proc/loadavg").read(), "optuna": optuna.__version__,
    }), flush=True)


def cmd_table(args):
    runs = {}
    for path in args.files:
        with open(path) as f:
            for line in f:
                if line.strip():
                    r = json.loads(line)
                    if r.get("max_spent") is None and r["method"] in ("tpe-hyperband",
                                                                       "optuna-tpe-hyperband"):
                        runs.setdefault((r["method"], r["epochs"], r["trials"]), []).append(r)
    print("| system | epochs (max resource) | trials | seeds | median best accuracy | "
          "best per seed | median epochs spent | epochs per seed | median pruned |")
    print("|---|---:|---:|---:|---:|---|---:|---|---:|")
    for (method, epochs, trials), rs in sorted(runs.items(), key=lambda kv: kv[0][0] != "tpe-hyperband"):
        rs.sort(key=lambda r: r["seed"])
        best = [max((a for _, a in r["complete"]), default=float("nan")) for r in rs]
        name = "hyperplug TPE + `hyperband`" if method == "tpe-hyperband" else \
            "Optuna TPESampler + HyperbandPruner"
        print(f"| {name} | {epochs} | {trials} | {len(rs)} | {statistics.median(best):.4f} | "
              f"{', '.join(f'{b:.4f}' for b in best)} | "
              f"{statistics.median(r['total_epochs'] for r in rs):g} | "
              f"{', '.join(str(r['total_epochs']) for r in rs)} | "
              f"{statistics.median(r['pruned'] for r in rs):g} |")
    equal_epochs(runs)


def equal_epochs(runs):
    """Per seed both systems ran (same epochs and trials): each one's best accuracy by the time
    it had spent as many epochs as the thriftier of the two, so neither gains by spending more."""
    print("\n| epochs (max resource) | trials | seeds | epochs compared, median | hyperplug best, median | "
          "Optuna best, median | hyperplug better / equal / worse |")
    print("|---:|---:|---:|---:|---:|---:|---|")
    for (method, epochs, trials), ours in sorted(runs.items()):
        if method != "tpe-hyperband":
            continue
        theirs = {r["seed"]: r for r in runs.get(("optuna-tpe-hyperband", epochs, trials), [])}
        pairs = [(r, theirs[r["seed"]]) for r in ours if r["seed"] in theirs]
        if not pairs:
            continue
        budgets = [min(h["total_epochs"], o["total_epochs"]) for h, o in pairs]
        h_best = [best_within(h, b) for (h, _), b in zip(pairs, budgets)]
        o_best = [best_within(o, b) for (_, o), b in zip(pairs, budgets)]
        # Within TOL is the same count of misclassified rows.
        better = sum(h > o + TOL for h, o in zip(h_best, o_best))
        worse = sum(o > h + TOL for h, o in zip(h_best, o_best))
        print(f"| {epochs} | {trials} | {len(pairs)} | {statistics.median(budgets):g} | "
              f"{statistics.median(h_best):.4f} | {statistics.median(o_best):.4f} | "
              f"{better} / {len(pairs) - better - worse} / {worse} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="one Optuna study; prints one JSON line")
    r.add_argument("--bin", default="target/release/examples/mlp_budget")
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--trials", type=int, default=30)
    r.add_argument("--epochs", type=int, default=9, help="max resource")
    r.add_argument("--dataset", default="digits")
    r.set_defaults(func=cmd_run)
    t = sub.add_parser("table", help="the markdown table from the JSON lines")
    t.add_argument("files", nargs="+")
    t.set_defaults(func=cmd_table)
    args = parser.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
