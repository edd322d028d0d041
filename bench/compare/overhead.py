#!/usr/bin/env python3
"""Time per trial of Optuna's and Rustuna's samplers on the trivial 10-D float objective of
`hyperplug bench overhead` (the sum of squares on [-5, 5]^10), written as the same JSON lines.

    python bench/compare/overhead.py --system optuna --samplers random,qmc,tpe \
        --trials 100,500,1000,10000 --timeout 300 --out results/overhead-optuna.jsonl

One run at a time, in this process, in-memory storage. A run stops at the largest trial count or
after --timeout seconds, whichever comes first; the report leaves later checkpoints empty.
"""

from __future__ import annotations

import argparse
import time
import os
import sys

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import common  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--system", choices=["optuna", "rustuna"], required=True)
    ap.add_argument("--samplers", required=True)
    ap.add_argument("--trials", default="100,500,1000,10000")
    ap.add_argument("--dim", type=int, default=10)
    ap.add_argument("--seeds", default="1", help="N seeds 0..N-1, or A,B,C")
    ap.add_argument("--timeout", type=float, help="seconds per run")
    ap.add_argument("--out", required=True)
    ap.add_argument("--append", action="store_true")
    args = ap.parse_args()

    checkpoints = sorted({int(t) for t in args.trials.split(",")})
    seeds = [int(s) for s in args.seeds.split(",")] if "," in args.seeds else list(range(int(args.seeds)))
    names = [f"x{i}" for i in range(args.dim)]

    def suggest(trial):
        return {n: trial.suggest_float(n, -5.0, 5.0) for n in names}

    def evaluate(params, number):
        v = sum(params[n] ** 2 for n in names)
        return v, v

    with open(args.out, "a" if args.append else "w") as out:
        for label in args.samplers.split(","):
            for seed in seeds:
                if label == "gp":
                    import torch

                    torch.set_num_threads(1)
                study = common.create_study(args.system, common.sampler(args.system, label, seed), "minimize")
                cpu0 = time.process_time()
                m = common.run(args.system, study, suggest, evaluate, checkpoints[-1], "minimize", args.timeout)
                # The process's CPU time (every thread), which other processes' load does not inflate.
                cpu_s = time.process_time() - cpu0
                out.write(
                    common.record(
                        kind="overhead",
                        system=args.system,
                        system_version=common.version(args.system),
                        strategy=label,
                        strategy_name=label,
                        strategy_settings={},
                        problem=f"sphere{args.dim}",
                        objective="sphere",
                        problem_settings={"dim": args.dim},
                        direction="minimize",
                        seed=seed,
                        budget=checkpoints[-1],
                        optimum=0.0,
                        regret=m["best_value"],
                        checkpoints=checkpoints,
                        **m,
                    )
                    + "\n"
                )
                out.flush()
                print(
                    f"{args.system} {label} seed {seed}: {m['trials']} trials in {m['wall_s']:.1f} s "
                    f"(CPU {cpu_s:.2f} s)",
                    file=sys.stderr,
                )


if __name__ == "__main__":
    main()
