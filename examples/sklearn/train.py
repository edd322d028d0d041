#!/usr/bin/env python3
"""Trains a support vector classifier on scikit-learn's bundled digits data set (1,797 8x8
images of handwritten digits) and scores it with 5-fold stratified cross-validation.

It is written for hyperplug's `command` objective but runs on its own too:

    python3 examples/sklearn/train.py --kernel rbf --C 10 --gamma 0.001

Parameters come from the command line; any that is not given there is taken from the JSON file
named by HYPERPLUG_PARAMS (hyperplug writes one per trial), then from the defaults below.

Output protocol (stdout, one JSON object per line):
  {"step": k, "accuracy": ...}     after fold k: the mean accuracy so far, so a pruner can stop
                                   a hopeless trial before its last fold
  {"accuracy": ..., "train_time": ..., ...}
                                   the result: mean accuracy over the folds, seconds spent
                                   fitting, and extra keys the trial keeps as attributes
Anything else goes to stderr.
"""

import argparse
import json
import os
import sys
import time

from sklearn.datasets import load_digits
from sklearn.model_selection import StratifiedKFold
from sklearn.svm import SVC

FOLDS = 5


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kernel", choices=["rbf", "poly", "sigmoid"], default="rbf")
    parser.add_argument("--C", type=float, default=1.0, help="inverse regularization strength")
    parser.add_argument("--gamma", type=float, default=0.001, help="kernel coefficient")
    parser.add_argument("--degree", type=int, default=3, help="polynomial degree (poly only)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the fold split")
    # Values from hyperplug's parameter file fill in whatever the command line leaves out.
    params_file = os.environ.get("HYPERPLUG_PARAMS")
    if params_file:
        with open(params_file) as f:
            known = vars(parser.parse_args([])).keys()
            parser.set_defaults(**{k: v for k, v in json.load(f).items() if k in known})
    return parser.parse_args(argv)


def main(argv):
    args = parse_args(argv)
    if args.C <= 0 or args.gamma <= 0:
        print(f"C and gamma must be positive, got C={args.C}, gamma={args.gamma}", file=sys.stderr)
        return 2
    X, y = load_digits(return_X_y=True)
    print(
        f"trial {os.environ.get('HYPERPLUG_TRIAL', '-')}: {args.kernel} C={args.C:g} "
        f"gamma={args.gamma:g} degree={args.degree} on {X.shape[0]}x{X.shape[1]} digits",
        file=sys.stderr,
    )

    folds = StratifiedKFold(n_splits=FOLDS, shuffle=True, random_state=args.seed)
    scores = []
    fit_seconds = 0.0
    support = 0
    for k, (train, test) in enumerate(folds.split(X, y)):
        model = SVC(kernel=args.kernel, C=args.C, gamma=args.gamma, degree=args.degree)
        start = time.perf_counter()
        model.fit(X[train], y[train])
        fit_seconds += time.perf_counter() - start
        scores.append(float(model.score(X[test], y[test])))
        support += int(model.n_support_.sum())
        # Printed as soon as the fold is done: hyperplug reads it live.
        print(json.dumps({"step": k, "accuracy": sum(scores) / len(scores), "fold_accuracy": scores[-1]}))

    mean = sum(scores) / len(scores)
    std = (sum((s - mean) ** 2 for s in scores) / len(scores)) ** 0.5
    print(json.dumps({
        "accuracy": mean,
        "train_time": round(fit_seconds, 4),
        "accuracy_std": std,
        "support_vectors": support / FOLDS,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
