#!/bin/sh
# NSGA-II on ZDT1-3 (30-D) and NSGA-III on DTLZ2 (12-D, 3 objectives), hyperplug beside Optuna,
# 10 seeds, hypervolume at 1,000 and 5,000 trials; one after the other on one machine.
# Usage (repository root): bench/compare/multiobjective.sh PYTHON OUTDIR [OPTUNA_CHECKPOINTS]
# OPTUNA_CHECKPOINTS (default 1000,5000): Optuna at 5,000 trials takes 3-4 minutes per run on a
# busy 2-core machine; 1000 keeps the Optuna side to its first 1,000 trials.
set -e
PY=${1:-python3}
OUT=${2:-results}
CP=${3:-1000,5000}
mkdir -p "$OUT"
rm -f "$OUT"/mo-*.jsonl
cargo build --release -q -p hyperplug-nsga --example zdt
Z=target/release/examples/zdt
$Z nsga2 zdt1,zdt2,zdt3 0..10 1000,5000 > "$OUT/mo-hyperplug.jsonl"
$Z nsga3 dtlz2 0..10 1000,5000 >> "$OUT/mo-hyperplug.jsonl"
# Seed by seed, so that a run cut short still has every problem.
for seed in 0 1 2 3 4 5 6 7 8 9; do
    $PY bench/compare/multiobjective.py --samplers nsga2 --problems zdt1,zdt2,zdt3 --seeds $seed \
        --checkpoints "$CP" --out "$OUT/mo-optuna.jsonl"
    $PY bench/compare/multiobjective.py --samplers nsga3 --problems dtlz2 --seeds $seed \
        --checkpoints "$CP" --out "$OUT/mo-optuna.jsonl"
done
$PY bench/compare/multiobjective.py --summarize "$OUT"/mo-*.jsonl
