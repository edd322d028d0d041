#!/bin/sh
# The GP section of docs/BENCHMARKS.md: hyperplug's `gp` beside Optuna's GPSampler, both in the
# same window of time on one machine (its load changes the wall times, not the CPU times or the
# seeded results). Needs torch in the venv (see README.md here).
# Usage (repository root): bench/compare/gp.sh PYTHON OUTDIR
set -e
PY=${1:-python3}
OUT=${2:-results}
mkdir -p "$OUT"
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1
cargo build --release -q -p hyperplug-gp --example bench
B=target/release/examples/bench

# Speed: a 300-trial 10-D run (CPU seconds of each side's process or sampling thread).
$B overhead 100,300 > "$OUT/gp-overhead.jsonl"
$PY bench/compare/overhead.py --system optuna --samplers gp --trials 100,300 --timeout 3000 \
    --out "$OUT/optuna-gp-overhead.jsonl" 2>> "$OUT/optuna-gp-overhead.log"

# Quality: median best at 50 and 100 trials, 20 seeds (Optuna's 100-trial runs also give the
# 50-trial value: `best_so_far`).
$B quality gp,tpe 0 20 > "$OUT/gp-quality.jsonl"
$PY bench/compare/run.py --suite bench/suites/gp.toml --system optuna --samplers gp \
    --budgets 100 --jobs 2 --out "$OUT/gp-optuna.jsonl"

# Several objectives: ZDT1-2 in 5-D, hypervolume at 50 and 100 trials.
$B mo gp,motpe,nsga2 zdt1,zdt2 5 0 10 50,100 > "$OUT/mo-gp-hyperplug.jsonl"
$PY bench/compare/multiobjective.py --samplers gp,motpe --problems zdt1,zdt2 --dim 5 \
    --seeds 0..10 --checkpoints 50,100 --out "$OUT/mo-gp-optuna.jsonl"
$PY bench/compare/multiobjective.py --summarize "$OUT"/mo-gp-*.jsonl

# Parallel: 1 worker against 4 at equal wall time (40 s, 1 s of sleep per trial).
for seed in 0 1 2 3 4; do
    $B parallel hartmann6,ackley10 40 1000 $seed 1 > "$OUT/gp-parallel-$seed.jsonl" &
done
wait
