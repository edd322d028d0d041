"""Optuna's importance evaluators on the trials hyperplug's ranking bench ranked.

    HP_IMPORTANCE_DUMP=/tmp/imp cargo bench -p hyperplug-importance --bench ranking
    python bench/compare/importance.py /tmp/imp ['*-300-*.json']   # optionally only some files

For each problem and size: in how many seeds every irrelevant parameter (`noise*`) ranks below
every parameter the function uses, by Optuna's FanovaImportanceEvaluator and
PedAnovaImportanceEvaluator (their defaults, seed 0), on exactly the trials hyperplug ranked.
"""

import collections
import json
import pathlib
import sys
import time

import optuna
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.importance import FanovaImportanceEvaluator, PedAnovaImportanceEvaluator

optuna.logging.set_verbosity(optuna.logging.ERROR)


def distribution(p):
    if p["type"] == "float":
        return FloatDistribution(p["low"], p["high"], log=p.get("log", False), step=p.get("step"))
    if p["type"] == "int":
        return IntDistribution(p["low"], p["high"], log=p.get("log", False), step=p.get("step", 1))
    return CategoricalDistribution(p["choices"])


def study_of(doc):
    dists = {p["name"]: distribution(p) for p in doc["space"]}
    study = optuna.create_study(direction="minimize")
    study.add_trials(
        optuna.trial.create_trial(
            params=t["params"],
            distributions={k: dists[k] for k in t["params"]},
            value=t["value"],
        )
        for t in doc["trials"]
    )
    return study


def irrelevant_last(importances, k):
    order = list(importances)  # most important first
    return all(name.startswith("noise") for name in order[len(order) - k:])


def main(directory):
    rows = collections.OrderedDict()
    pattern = sys.argv[2] if len(sys.argv) > 2 else "*.json"
    for path in sorted(pathlib.Path(directory).glob(pattern)):
        doc = json.loads(path.read_text())
        study = study_of(doc)
        key = (doc["problem"], doc["trials_count"], doc["irrelevant"])
        row = rows.setdefault(key, {"fanova": 0, "ped": 0, "seeds": 0, "fanova_s": 0.0, "ped_s": 0.0})
        t = time.perf_counter()
        f = optuna.importance.get_param_importances(study, evaluator=FanovaImportanceEvaluator(seed=0))
        row["fanova_s"] += time.perf_counter() - t
        t = time.perf_counter()
        g = optuna.importance.get_param_importances(study, evaluator=PedAnovaImportanceEvaluator())
        row["ped_s"] += time.perf_counter() - t
        row["fanova"] += irrelevant_last(f, doc["irrelevant"])
        row["ped"] += irrelevant_last(g, doc["irrelevant"])
        row["seeds"] += 1
        # One line per file as it is done, so that a long run can be read part way.
        print(f"# {path.name}: fanova {irrelevant_last(f, doc['irrelevant'])} ped {irrelevant_last(g, doc['irrelevant'])}", file=sys.stderr, flush=True)
    print(f"optuna {optuna.__version__}")
    print("| problem | trials | irrelevant | Optuna fANOVA: irrelevant last | Optuna PED-ANOVA: irrelevant last | fANOVA s/seed | PED-ANOVA s/seed |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for (problem, n, k), r in sorted(rows.items(), key=lambda kv: (kv[0][0], kv[0][1])):
        s = r["seeds"]
        print(f"| {problem} | {n} | {k} | {r['fanova']}/{s} | {r['ped']}/{s} | {r['fanova_s'] / s:.3f} | {r['ped_s'] / s:.3f} |")


if __name__ == "__main__":
    main(sys.argv[1])
