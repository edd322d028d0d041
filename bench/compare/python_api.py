"""hyperplug's Python package beside Optuna 5 and Rustuna, side by side in one run.

    python bench/compare/python_api.py rosenbrock [--trials 1000] [--seeds 1,2,3]
    python bench/compare/python_api.py sqlite     [--trials 1000] [--seeds 1]
    python bench/compare/python_api.py searchcv   [--fits 25] [--seeds 0,1,2] [--data digits]
                                                  [--candidates tpe 'gp:{"startup": 5}']
    python bench/compare/python_api.py threads    [--trials 200] [--seeds 0,1,2]

`rosenbrock`: 1,000 TPE trials on 10-dimensional Rosenbrock over [-5, 10], defined by run
(ten `suggest_float` calls per trial), in memory; the wall time of `study.optimize` and the best
value. `sqlite`: the same with a fresh SQLite file per run (Optuna: its RDB storage). `searchcv`:
digits with an RBF SVC, 5-fold CV: GridSearchCV over a grid of `--fits` configurations,
OptunaSearchCV and hyperplug's SearchCV with as many trials; best CV score and wall time.

Needs the bench/compare requirements, optuna-integration (for OptunaSearchCV), scikit-learn,
and the hyperplug package built in release (`pip install ./python`, or `maturin develop -r`).
Single-threaded numerics: run with OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import tempfile
import time
import warnings


def rosenbrock_objective(trial):
    xs = [trial.suggest_float(f"x{i}", -5.0, 10.0) for i in range(10)]
    return sum(100.0 * (xs[i + 1] - xs[i] ** 2) ** 2 + (1 - xs[i]) ** 2 for i in range(9))


def run_hyperplug(trials, seed, storage=None):
    import hyperplug

    study = hyperplug.create_study(seed=seed, strategy="tpe", storage=storage, study_name="bench")
    start, cpu = time.perf_counter(), time.process_time()
    study.optimize(rosenbrock_objective, n_trials=trials)
    return time.perf_counter() - start, time.process_time() - cpu, study.best_value


def run_optuna(trials, seed, storage=None):
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        sampler=optuna.samplers.TPESampler(seed=seed), storage=storage, study_name="bench"
    )
    start, cpu = time.perf_counter(), time.process_time()
    study.optimize(rosenbrock_objective, n_trials=trials)
    return time.perf_counter() - start, time.process_time() - cpu, study.best_value


def run_rustuna(trials, seed, storage=None):
    import rustuna

    study = rustuna.create_study(sampler=rustuna.samplers.TPESampler(seed=seed))
    start, cpu = time.perf_counter(), time.process_time()
    study.optimize(rosenbrock_objective, n_trials=trials)
    return time.perf_counter() - start, time.process_time() - cpu, study.best_trial.values[0]


def line(record):
    print(json.dumps(record), flush=True)


def rosenbrock(args, sqlite: bool):
    systems = [("hyperplug", run_hyperplug), ("optuna", run_optuna)]
    if not sqlite:
        systems.insert(1, ("rustuna", run_rustuna))
    rows = {}
    for seed in args.seeds:
        for name, run in systems:
            with tempfile.TemporaryDirectory() as d:
                storage = f"sqlite:///{d}/bench.db" if sqlite else None
                wall, cpu, best = run(args.trials, seed, storage)
            rows.setdefault(name, []).append((wall, cpu, best))
            line({"problem": "rosenbrock10", "storage": "sqlite" if sqlite else "memory",
                  "system": name, "seed": seed, "trials": args.trials,
                  "wall_s": round(wall, 4), "cpu_s": round(cpu, 4), "best": best})
    print()
    print("| system | storage | trials | seeds | wall s (median) | CPU s (median) | best value (median) |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for name, rs in rows.items():
        print(f"| {name} | {'sqlite' if sqlite else 'memory'} | {args.trials} | {len(rs)} | "
              f"{statistics.median(r[0] for r in rs):.3f} | {statistics.median(r[1] for r in rs):.3f} | "
              f"{statistics.median(r[2] for r in rs):.1f} |")


def load_data(name):
    """A classification data set, scaled for an RBF SVC."""
    from sklearn import datasets
    from sklearn.preprocessing import StandardScaler

    if name == "digits":
        X, y = datasets.load_digits(return_X_y=True)
        return X / 16.0, y
    if name == "breast_cancer":
        X, y = datasets.load_breast_cancer(return_X_y=True)
    elif name == "wine":
        X, y = datasets.load_wine(return_X_y=True)
    elif name == "synthetic":
        X, y = datasets.make_classification(
            n_samples=600, n_features=20, n_informative=8, n_redundant=4, n_classes=3,
            flip_y=0.05, class_sep=0.8, random_state=0,
        )
    else:
        raise SystemExit(f"unknown data set {name}")
    return StandardScaler().fit_transform(X), y


def parse_candidate(text):
    """`tpe` or `tpe:{"startup": 5}`: a strategy and its settings for SearchCV."""
    name, _, settings = text.partition(":")
    return (name or None), (json.loads(settings) if settings else None)


def searchcv(args):
    import numpy as np
    import optuna
    from optuna.distributions import FloatDistribution as OFloat
    from optuna_integration import OptunaSearchCV
    from sklearn.model_selection import GridSearchCV, StratifiedKFold
    from sklearn.svm import SVC

    from hyperplug.distributions import FloatDistribution
    from hyperplug.sklearn import SearchCV

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.simplefilter("ignore")
    X, y = load_data(args.data)
    side = int(round(math.sqrt(args.fits)))
    grid = {"C": list(np.logspace(-2, 3, side)), "gamma": list(np.logspace(-4, 0, side))}
    fits = side * side
    candidates = [parse_candidate(c) for c in args.candidates]
    rows = {}
    for seed in args.seeds:
        cv = StratifiedKFold(5, shuffle=True, random_state=seed)
        systems = {}
        if not args.no_baselines:
            systems["GridSearchCV"] = lambda: GridSearchCV(SVC(), grid, cv=cv)
            systems["OptunaSearchCV (TPE)"] = lambda: OptunaSearchCV(
                SVC(),
                {"C": OFloat(1e-2, 1e3, log=True), "gamma": OFloat(1e-4, 1.0, log=True)},
                cv=cv, n_trials=fits, random_state=seed, refit=True,
            )
        for strategy, settings in candidates:
            label = "hyperplug SearchCV (" + (strategy if strategy else "default")
            label += (" " + json.dumps(settings) if settings else "") + ")"
            extra = {} if strategy is None else {"strategy": strategy, "settings": settings}
            systems[label] = (lambda extra=extra: SearchCV(
                SVC(),
                {"C": FloatDistribution(1e-2, 1e3, log=True),
                 "gamma": FloatDistribution(1e-4, 1.0, log=True)},
                cv=cv, n_trials=fits, seed=seed, **extra,
            ))
        for name, make in systems.items():
            est = make()
            start = time.perf_counter()
            est.fit(X, y)
            wall = time.perf_counter() - start
            rows.setdefault(name, []).append((wall, est.best_score_))
            line({"problem": f"{args.data}-svc", "system": name, "seed": seed,
                  "configurations": fits, "folds": 5, "wall_s": round(wall, 3),
                  "best_cv_score": est.best_score_})
    print()
    print(f"{args.data}, SVC, {fits} configurations x 5 folds, seeds {args.seeds}")
    print("| search | best CV accuracy per seed | mean | wall s (median) |")
    print("|---|---|---:|---:|")
    n = len(y)
    for name, rs in rows.items():
        # Accuracy over n images in 5 folds: a difference of one image is 1/n.
        per_seed = " ".join(f"{s:.4f}" for _, s in rs)
        print(f"| {name} | {per_seed} | {statistics.mean(s for _, s in rs):.4f} | "
              f"{statistics.median(w for w, _ in rs):.1f} |")
    print(f"(one image of {n} is {1 / n:.4f})")


def threads(args):
    """n_jobs=4 in trial-number order (a seeded study's default) against free-running threads."""
    import hyperplug

    def objective(trial):
        # 0-40 ms, a fixed function of the trial number; sleeping releases the GIL as a fit does.
        time.sleep(0.04 * ((trial.number * 7919) % 11) / 10)
        x = trial.suggest_float("x", -5, 5)
        y = trial.suggest_float("y", -5, 5)
        return x * x + y * y

    print("| threads | wall s (median) |")
    print("|---|---:|")
    for label, n_jobs, in_order in [("1 job", 1, None), ("4 jobs, in trial-number order", 4, True),
                                    ("4 jobs, free", 4, False)]:
        walls = []
        for seed in args.seeds:
            study = hyperplug.create_study(seed=seed, strategy="tpe")
            start = time.perf_counter()
            study.optimize(objective, n_trials=args.trials, n_jobs=n_jobs, in_order=in_order)
            walls.append(time.perf_counter() - start)
        print(f"| {label} | {statistics.median(walls):.2f} |", flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("what", choices=["rosenbrock", "sqlite", "searchcv", "threads"])
    p.add_argument("--trials", type=int, default=1000)
    p.add_argument("--fits", type=int, default=25)
    p.add_argument("--seeds", default="1", type=lambda s: [int(x) for x in s.split(",")])
    p.add_argument("--data", default="digits",
                   choices=["digits", "breast_cancer", "wine", "synthetic"],
                   help="searchcv: the data set (the others are for choosing defaults)")
    p.add_argument("--candidates", nargs="*", default=[""],
                   help="searchcv: hyperplug strategies to run, `name` or `name:{json settings}`; "
                        "an empty one is SearchCV's default")
    p.add_argument("--no-baselines", action="store_true",
                   help="searchcv: leave GridSearchCV and OptunaSearchCV out")
    args = p.parse_args()
    print(f"# python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load {os.getloadavg()}",
          flush=True)
    if args.what == "searchcv":
        searchcv(args)
    elif args.what == "threads":
        threads(args)
    else:
        rosenbrock(args, sqlite=args.what == "sqlite")


if __name__ == "__main__":
    main()
