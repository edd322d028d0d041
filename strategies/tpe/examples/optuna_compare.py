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
import math
import statistics
import sys
import time

PI = math.pi


def branin(x):
    x0, x1 = x
    b = 5.1 / (4 * PI * PI)
    c = 5 / PI
    r, s, t = 6.0, 10.0, 1 / (8 * PI)
    return (x1 - b * x0 * x0 + c * x0 - r) ** 2 + s * (1 - t) * math.cos(x0) + s


H6_ALPHA = [1.0, 1.2, 3.0, 3.2]
H6_A = [
    [10.0, 3.0, 17.0, 3.5, 1.7, 8.0],
    [0.05, 10.0, 17.0, 0.1, 8.0, 14.0],
    [3.0, 3.5, 1.7, 10.0, 17.0, 8.0],
    [17.0, 8.0, 0.05, 10.0, 0.1, 14.0],
]
H6_P = [
    [0.1312, 0.1696, 0.5569, 0.0124, 0.8283, 0.5886],
    [0.2329, 0.4135, 0.8307, 0.3736, 0.1004, 0.9991],
    [0.2348, 0.1451, 0.3522, 0.2883, 0.3047, 0.6650],
    [0.4047, 0.8828, 0.8732, 0.5743, 0.1091, 0.0381],
]


def hartmann6(x):
    return -sum(
        H6_ALPHA[i] * math.exp(-sum(H6_A[i][j] * (x[j] - H6_P[i][j]) ** 2 for j in range(6)))
        for i in range(4)
    )


def rosenbrock(x):
    return sum(100 * (x[i + 1] - x[i] ** 2) ** 2 + (x[i] - 1) ** 2 for i in range(len(x) - 1))


def ackley(x):
    a, b, c = 20.0, 0.2, 2 * PI
    d = len(x)
    sq = sum(v * v for v in x)
    cs = sum(math.cos(c * v) for v in x)
    return -a * math.exp(-b * math.sqrt(sq / d)) - math.exp(cs / d) + a + math.e


def levy(x):
    w = [1 + (v - 1) / 4 for v in x]
    last = w[-1]
    middle = sum((wi - 1) ** 2 * (1 + 10 * math.sin(PI * wi + 1) ** 2) for wi in w[:-1])
    return math.sin(PI * w[0]) ** 2 + middle + (last - 1) ** 2 * (1 + math.sin(2 * PI * last) ** 2)


def styblinski_tang(x):
    return 0.5 * sum(v ** 4 - 16 * v * v + 5 * v for v in x)


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
