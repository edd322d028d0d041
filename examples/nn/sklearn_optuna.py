"""scikit-learn's MLPClassifier tuned by Optuna on digits: the reference for examples/nn/digits.toml.

The same budget and judging as the hyperplug study: 50 trials of TPE, each scored by the mean
accuracy of stratified 5-fold cross-validation (shuffled, features standardized inside each
training fold), over the closest space MLPClassifier allows:

    learning_rate_init  float [1e-4, 0.1], log          (lr)
    batch_size          16, 32, 64, 128
    solver              adam, sgd                       (optimizer)
    momentum            float [0, 0.99], when sgd
    alpha               float [1e-8, 1e-2], log         (l2; MLPClassifier has no L1 and no dropout)
    layers              int [1, 3]; units_k int [16, 512], log, when layers >= k
    activation          relu, tanh, logistic            (no GELU in scikit-learn)
    max_iter            int [10, 100]                   (epochs; tol = 0 so none stops early)

Two folds train at once (joblib processes, BLAS limited to one thread each), as the hyperplug
study trains with `threads = 2`.

    python3 -m venv /tmp/nn-venv && /tmp/nn-venv/bin/pip install -r examples/nn/requirements.txt
    /tmp/nn-venv/bin/python examples/nn/sklearn_optuna.py --trials 50 --seed 7 --jobs 2
"""

import argparse
import json
import os
import time
import warnings

# One BLAS thread per process, set before numpy starts.
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")

import numpy as np  # noqa: E402
import optuna  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.model_selection import StratifiedKFold, cross_validate  # noqa: E402
from sklearn.neural_network import MLPClassifier  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402


def model(trial, seed):
    layers = trial.suggest_int("layers", 1, 3)
    units = tuple(trial.suggest_int(f"units_{k}", 16, 512, log=True) for k in range(1, layers + 1))
    solver = trial.suggest_categorical("optimizer", ["adam", "sgd"])
    extra = {}
    if solver == "sgd":
        extra["momentum"] = trial.suggest_float("momentum", 0.0, 0.99)
        extra["nesterovs_momentum"] = False
    mlp = MLPClassifier(
        hidden_layer_sizes=units,
        activation=trial.suggest_categorical("activation", ["relu", "tanh", "logistic"]),
        solver=solver,
        alpha=trial.suggest_float("l2", 1e-8, 1e-2, log=True),
        batch_size=trial.suggest_categorical("batch_size", [16, 32, 64, 128]),
        learning_rate_init=trial.suggest_float("lr", 1e-4, 0.1, log=True),
        max_iter=trial.suggest_int("epochs", 10, 100),
        tol=0.0,
        n_iter_no_change=10_000,
        shuffle=True,
        random_state=seed,
        **extra,
    )
    return make_pipeline(StandardScaler(), mlp)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=50)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--jobs", type=int, default=2, help="folds trained at once")
    args = parser.parse_args()

    x, y = load_digits(return_X_y=True)
    folds = StratifiedKFold(n_splits=args.folds, shuffle=True, random_state=0)
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    optuna.logging.set_verbosity(optuna.logging.WARNING)

    def objective(trial):
        started = time.perf_counter()
        result = cross_validate(model(trial, args.seed), x, y, cv=folds, n_jobs=args.jobs,
                                return_estimator=True)
        scores = result["test_score"]
        mlp = result["estimator"][0][-1]
        params = sum(w.size for w in mlp.coefs_) + sum(b.size for b in mlp.intercepts_)
        trial.set_user_attr("accuracy_std", float(np.std(scores)))
        trial.set_user_attr("params", int(params))
        trial.set_user_attr("train_time", time.perf_counter() - started)
        print(f"trial {trial.number:>3}  accuracy {scores.mean():.4f} ± {np.std(scores):.4f}  "
              f"params {params:>7}  {time.perf_counter() - started:6.2f} s  {trial.params}",
              flush=True)
        return float(scores.mean())

    study = optuna.create_study(direction="maximize",
                                sampler=optuna.samplers.TPESampler(seed=args.seed))
    started = time.perf_counter()
    study.optimize(objective, n_trials=args.trials)
    wall = time.perf_counter() - started
    best = study.best_trial
    print(json.dumps({
        "best_trial": best.number,
        "accuracy": best.value,
        "accuracy_std": best.user_attrs["accuracy_std"],
        "params": best.user_attrs["params"],
        "best_params": best.params,
        "trials": len(study.trials),
        "wall_time_s": round(wall, 1),
        "versions": {"scikit-learn": __import__("sklearn").__version__,
                     "optuna": optuna.__version__, "numpy": np.__version__},
    }, indent=2))


if __name__ == "__main__":
    main()
