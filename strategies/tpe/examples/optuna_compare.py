"""Optuna 5 and Rustuna side of the TPE measurements in docs/benchmarks/tpe.md.

    pip install optuna==5.0.0 rustuna==0.2.0
    python strategies/tpe/examples/optuna_compare.py quality --seeds 20 --trials 100
    python strategies/tpe/examples/optuna_compare.py speed --trials 100,1000
    python strategies/tpe/examples/optuna_compare.py tabular --seeds 50 --data ../shared/data

`quality` prints the median best value of `optuna.samplers.TPESampler(seed=s)` (multivariate by
default in Optuna 5) over seeds 0..N-1 on the six problems, with the same definitions and domains
as `hyperplug-synthetic`. `speed` times `study.optimize` of a trivial objective on [0, 1]^10 for
Optuna's and Rustuna's default TPESampler; the objective's own time is measured and subtracted.
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

# The synthetic functions are the harness's own Python definitions (bench/compare/problems.py),
# which mirror objectives/synthetic exactly.
sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "bench" / "compare"))
from problems import ackley, branin, hartmann6, levy, rosenbrock, styblinski_tang  # noqa: E402

PROBLEMS = [
    ("branin", branin, [(-5.0, 10.0), (0.0, 15.0)]),
    ("hartmann6", hartmann6, [(0.0, 1.0)] * 6),
    ("rosenbrock", rosenbrock, [(-5.0, 10.0)] * 10),
    ("ackley", ackley, [(-32.768, 32.768)] * 10),
    ("levy", levy, [(-10.0, 10.0)] * 10),
    ("styblinski_tang", styblinski_tang, [(-5.0, 5.0)] * 10),
]


def quality(args):
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    print("problem,dim,seeds,trials,median_best,mean_best,seconds")
    for name, f, bounds in PROBLEMS:
        if args.problems and name not in args.problems.split(","):
            continue
        start = time.perf_counter()
        best = []
        for seed in range(args.first_seed, args.first_seed + args.seeds):

            def objective(trial):
                x = [trial.suggest_float(f"x{i}", lo, hi) for i, (lo, hi) in enumerate(bounds)]
                return f(x)

            study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=seed))
            study.optimize(objective, n_trials=args.trials)
            best.append(study.best_value)
        print(
            f"{name},{len(bounds)},{args.seeds},{args.trials},{statistics.median(best):.6f},"
            f"{statistics.fmean(best):.6f},{time.perf_counter() - start:.2f}"
        )
        sys.stdout.flush()


def speed(args):
    import optuna
    import rustuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    print("library,trials,total_sampler_s,objective_s")
    for n in [int(t) for t in args.trials.split(",")]:
        for lib, make in [
            ("optuna", lambda: optuna.create_study(sampler=optuna.samplers.TPESampler(seed=1))),
            ("rustuna", lambda: rustuna.create_study(sampler=rustuna.samplers.TPESampler(seed=1))),
        ]:
            if lib in args.skip.split(","):
                continue
            inside = [0.0]

            def objective(trial):
                x = [trial.suggest_float(f"x{i}", 0.0, 1.0) for i in range(10)]
                t0 = time.perf_counter()
                v = sum((xi - 0.5) ** 2 for xi in x)
                inside[0] += time.perf_counter() - t0
                return v

            study = make()
            start = time.perf_counter()
            study.optimize(objective, n_trials=n)
            total = time.perf_counter() - start
            print(f"{lib},{n},{total - inside[0]:.4f},{inside[0]:.4f}")
            sys.stdout.flush()


TABLES = [
    "nasbench201/cifar10",
    "nasbench201/cifar100",
    "nasbench201/imagenet16-120",
    "hpolib/naval_propulsion",
    "hpolib/parkinsons_telemonitoring",
    "hpolib/protein_structure",
    "hpolib/slice_localization",
]


def tabular(args):
    """The protocol of shared/reference/optuna-tabular.md, `tpe` row with the `cat` encoding."""
    import csv
    import gzip
    import json

    import numpy as np
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    print("table,seeds,trials,mean_regret,std_regret,median_regret")
    for name in TABLES:
        if args.tables and name not in args.tables.split(","):
            continue
        bench, table = name.split("/")
        spec = json.load(open(f"{args.data}/{bench}/space.json"))
        main_metric = spec["main_metric"]
        maximize = spec["metrics"][main_metric] == "maximize"
        params = {}
        for pname, p in spec["params"].items():
            choices = p["choices"]
            if all(isinstance(c, (int, float)) for c in choices):
                choices = sorted(choices)
            params[pname] = choices
        metrics = {}
        with gzip.open(f"{args.data}/{bench}/{table}.csv.gz", "rt") as f:
            for row in csv.DictReader(f):
                key = tuple(
                    str(type(params[k][0])(float(row[k])) if not isinstance(params[k][0], str) else row[k])
                    for k in params
                )
                metrics.setdefault(key, []).append(float(row[main_metric]))
        means = {k: sum(v) / len(v) for k, v in metrics.items()}
        optimum = max(means.values()) if maximize else min(means.values())
        regrets = []
        for run_seed in range(args.seeds):

            def objective(trial):
                key = tuple(str(trial.suggest_categorical(k, c)) for k, c in params.items())
                values = metrics[key]
                i = np.random.default_rng([run_seed, trial.number]).integers(len(values))
                return values[i]

            study = optuna.create_study(
                direction="maximize" if maximize else "minimize",
                sampler=optuna.samplers.TPESampler(seed=run_seed),
            )
            study.optimize(objective, n_trials=args.trials)
            best = tuple(str(study.best_params[k]) for k in params)
            regrets.append(abs(optimum - means[best]))
        print(
            f"{name},{args.seeds},{args.trials},{statistics.fmean(regrets):.6e},"
            f"{statistics.stdev(regrets):.6e},{statistics.median(regrets):.6e}"
        )
        sys.stdout.flush()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["quality", "speed", "tabular"])
    p.add_argument("--seeds", type=int, default=20)
    p.add_argument("--first-seed", type=int, default=0)
    p.add_argument("--trials", default="100")
    p.add_argument("--problems", default="")
    p.add_argument("--skip", default="")
    p.add_argument("--tables", default="")
    p.add_argument("--data", default="../shared/data")
    args = p.parse_args()
    if args.mode == "quality":
        args.trials = int(args.trials)
        quality(args)
    elif args.mode == "tabular":
        args.trials = int(args.trials)
        tabular(args)
    else:
        speed(args)


if __name__ == "__main__":
    main()
